import { rm } from 'node:fs/promises'
import { runDir } from '../run-dir.js'
import { join } from 'node:path'
import * as VM from '../xapi/vm.js'
import * as VDI from '../xapi/vdi.js'
import * as VBD from '../xapi/vbd.js'
import * as VIF from '../xapi/vif.js'
import { hasCode } from '../xapi/errors.js'
import { UserError, EXIT } from '../errors.js'
import { buildDrive, DRIVE_LABEL } from '../cloud-init/drive.js'
import { driveContent, xenstoreContent } from '../cloud-init/resolve.js'
import type { TemplateVars } from '../cloud-init/template.js'
import { writeExtentsFile } from '../image/write-image.js'
import { scanDataRegions } from '../upload/find/data-map.js'
import { uploadImage } from '../upload/upload.js'
import { NotReady, waitReady } from '../wait/watch.js'
import { markOf } from './marks.js'
import { INCOMPLETE_KEY } from './leftovers.js'
import { DEFAULT_WAIT_TIMEOUT_MS, DRIVE_KEY } from './first-boot.js'
import { need, type PlanInput, type Step, type StepContext } from './step-types.js'

// {ip} only where a fleet's address pool gave the VM one (src/fleet/addresses.ts).
const vars = (c: PlanInput): TemplateVars => ({ name: c.vmName, index: c.firstBoot?.index ?? 0, mac: c.targets.mac, ip: c.firstBoot?.ip })
const driveName = (c: PlanInput): string => `${c.vmName}-${DRIVE_LABEL[c.recipe.cloud_init?.datasource ?? 'nocloud']}`

/** The lowest userdevice no VBD of the VM uses: XAPI numbers disks from 0, and the drive goes after them. */
async function nextFreeDevice(c: StepContext, vm: string): Promise<string> {
  const used = new Set(await Promise.all((await VM.get_VBDs(c.x, vm)).map((v) => VBD.get_userdevice(c.x, v))))
  let n = 0
  while (used.has(String(n))) n++
  return String(n)
}

/** Before VM.start: the config drive (built here, uploaded like the image, attached as a disk) and the xenstore keys. */
export const DRIVE_STEPS = [
  {
    id: 'drive.create',
    title: 'Build and upload the cloud-init config drive',
    skip: (c) => !c.recipe.cloud_init,
    calls: (c) =>
      !c.recipe.cloud_init
        ? []
        : [
            'VM.get_uuid (instance-id)',
            `VDI.create {name_label: "${driveName(c)}", SR: ${c.targets.sr.record.uuid}, virtual_size: (the FAT volume, whole MiB), type: user} (FAT label ${DRIVE_LABEL[c.recipe.cloud_init.datasource]})`,
            'VDI.get_record (its size), task.create, PUT /import_raw_vdi?format=raw&chunked, event.from, task.destroy',
          ],
    async run(c) {
      const vm = need(c.state.vm, 'the VM')
      const content = driveContent(c.recipe, c.firstBoot?.userData, vars(c), await VM.get_uuid(c.x, vm))
      const drive = buildDrive(content)
      // Named for this run, so a run killed while it exists has it removed by the next (run-dir.ts).
      const { dir } = await runDir('drive')
      try {
        const file = join(dir, 'drive.img')
        await writeExtentsFile(file, drive.size, drive.extents)
        const ref = await VDI.create(c.x, {
          name_label: driveName(c),
          name_description: `cloud-init config drive of ${c.vmName}, created by xcp-provision`,
          SR: c.targets.sr.ref,
          virtual_size: drive.size,
          type: 'user',
          sharable: false,
          read_only: false,
          other_config: { [DRIVE_KEY]: markOf(c.vmName), [INCOMPLETE_KEY]: 'true' },
        })
        c.state.drive = { vdi: ref }
        c.state.created.push({ cls: 'VDI', ref, label: driveName(c) })
        // The image's tuning (retry policy) and events: a retried drive upload is reported like the image's.
        await uploadImage(c.x, { vdi: ref, image: file, map: await scanDataRegions(file), ...(c.upload ? { tuning: c.upload } : {}), signal: c.signal, onEvent: (e) => c.onEvent?.(e) })
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    },
  },
  {
    id: 'drive.attach',
    title: 'Attach the config drive',
    skip: (c) => !c.recipe.cloud_init,
    calls: (c) => (!c.recipe.cloud_init ? [] : ['VM.get_VBDs, VBD.get_userdevice (the next free device)', 'VBD.create {userdevice: <next free>, bootable: false, mode: RW, type: Disk}']),
    async run(c) {
      const vm = need(c.state.vm, 'the VM')
      const drive = c.state.drive!
      // A disk, not a CD: XenServer allows one CD drive per VM, and the template may hold it.
      const userdevice = await nextFreeDevice(c, vm)
      const ref = await VBD.create(c.x, { VM: vm, VDI: drive.vdi, userdevice, bootable: false, mode: 'RW', type: 'Disk' })
      drive.vbd = ref
      c.state.created.push({ cls: 'VBD', ref, label: `config drive, userdevice ${userdevice}` })
    },
  },
  {
    id: 'vm.xenstore',
    title: 'Set the xenstore keys the guest reads',
    skip: (c) => Object.keys(c.recipe.xenstore).length === 0,
    calls: (c) => (Object.keys(c.recipe.xenstore).length === 0 ? [] : ['VM.get_xenstore_data', `VM.set_xenstore_data (+ ${Object.keys(c.recipe.xenstore).join(', ')})`]),
    async run(c) {
      const vm = need(c.state.vm, 'the VM')
      await VM.set_xenstore_data(c.x, vm, { ...(await VM.get_xenstore_data(c.x, vm)), ...xenstoreContent(c.recipe, vars(c)) })
    },
  },
] as const satisfies readonly Step[]

const waits = (c: PlanInput): boolean => c.recipe.start && (c.firstBoot?.probes.length ?? 0) > 0

/** After VM.start, before the VM gets its name: a guest that never becomes ready is rolled back like any failed step. */
export const READY_STEPS = [
  {
    id: 'wait',
    title: 'Wait for the guest',
    skip: (c) => !waits(c),
    calls: (c) =>
      !waits(c)
        ? []
        : [
            'VM.get_VIFs, VIF.get_device',
            `event.from [vm/<ref>, vm_guest_metrics/<ref>] until ${c.firstBoot!.probes.map((p) => p.text).join(' and ')} (at most ${Math.round((c.firstBoot!.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS) / 1000)} s)`,
          ],
    async run(c) {
      const vm = need(c.state.vm, 'the VM')
      const fb = c.firstBoot!
      const devices = await Promise.all((await VM.get_VIFs(c.x, vm)).map((v) => VIF.get_device(c.x, v)))
      try {
        c.state.ready = await waitReady(c.x, vm, fb.probes, {
          timeoutMs: fb.timeoutMs,
          ...(fb.agentGraceMs !== undefined ? { agentGraceMs: fb.agentGraceMs } : {}),
          devices,
          bootConsole: fb.bootConsole ? () => fb.bootConsole!(vm) : undefined,
        })
      } catch (e) {
        if (!(e instanceof NotReady)) throw e
        const when = e.early ? `after ${Math.round(e.waitedMs / 1000)} s, without waiting out --wait-timeout` : `within --wait-timeout (${Math.round(fb.timeoutMs / 1000)} s)`
        throw new UserError(
          { what: `The guest did not become ready (${fb.probes.map((p) => p.text).join(', ')}) ${when}`, why: e.diagnosis.why, fix: e.diagnosis.fix, code: 'guest-not-ready', exitCode: EXIT.failure },
          { cause: e },
        )
      }
    },
  },
  {
    id: 'drive.remove',
    title: 'Remove the config drive (remove_after: ready)',
    skip: (c) => !waits(c) || c.recipe.cloud_init?.remove_after !== 'ready',
    calls: (c) => (!waits(c) || c.recipe.cloud_init?.remove_after !== 'ready' ? [] : ['Async.VBD.unplug', 'VBD.destroy', 'VDI.destroy']),
    async run(c) {
      const drive = c.state.drive!
      if (drive.vbd) {
        await VBD.unplug(c.x, drive.vbd).catch((e: unknown) => {
          if (!hasCode(e, 'DEVICE_ALREADY_DETACHED')) throw e
        })
        await VBD.destroy(c.x, drive.vbd)
      }
      await VDI.destroy(c.x, drive.vdi)
      c.state.created = c.state.created.filter((o) => o.ref !== drive.vdi && o.ref !== drive.vbd)
      delete c.state.drive
    },
  },
] as const satisfies readonly Step[]

/** After the VM has its name: the drive is finished too (never before, or a kill in between would strand it). */
export const DRIVE_FINISH = {
  id: 'drive.finish',
  title: 'Mark the config drive finished',
  skip: (c) => !c.recipe.cloud_init,
  // Removed by drive.remove once the guest was ready: nothing left to mark.
  calls: (c) => (!c.recipe.cloud_init || (waits(c) && c.recipe.cloud_init.remove_after === 'ready') ? [] : [`VDI.remove_from_other_config ${INCOMPLETE_KEY} (the drive)`]),
  async run(c) {
    if (c.state.drive) await VDI.remove_from_other_config(c.x, c.state.drive.vdi, INCOMPLETE_KEY)
  },
} as const satisfies Step
