import * as VM from '../xapi/vm.js'
import { settleAll } from './settle-all.js'
import * as VDI from '../xapi/vdi.js'
import * as VIF from '../xapi/vif.js'
import * as VBD from '../xapi/vbd.js'
import { DISK_STEPS } from './disk-steps.js'
import { BOOT_STEPS } from './boot-steps.js'
import { DRIVE_FINISH, DRIVE_STEPS, READY_STEPS } from './first-boot-steps.js'
import { need, type Step } from './step-types.js'
import { buildingName, INCOMPLETE_KEY } from './leftovers.js'
import { SETTINGS_KEY, settingsRecord, wantedSettings } from './settings.js'
import { setVcpus } from './update-vm.js'

export { need, vdiName, type RunState, type StepContext, type PlanInput, type Step } from './step-types.js'

const ALL = [
  ...DISK_STEPS,
  {
    id: 'vm.install',
    title: `Install the VM from its template`,
    calls: (c) => [
      `Async.VM.clone (template "${c.recipe.template}", "${buildingName(c.vmName)}": renamed by the last step)`,
      'VM.get_other_config',
      'VM.remove_from_other_config disks (if present)',
      'Async.VM.provision',
      'VM.set_name_description',
    ],
    async run(c) {
      // The temporary name marks the VM as unfinished until the last step: a run killed in
      // between leaves something the next run recognises and removes (leftovers.ts).
      const ref = await VM.clone(c.x, c.targets.template, buildingName(c.vmName))
      c.state.vm = ref
      c.state.created.push({ cls: 'VM', ref, label: c.vmName })
      // Disks come from our own VDI, not from the template's provisioning XML.
      if ('disks' in (await VM.get_other_config(c.x, ref))) await VM.remove_from_other_config(c.x, ref, 'disks')
      await VM.provision(c.x, ref)
      await VM.set_name_description(c.x, ref, c.recipe.description)
    },
  },
  {
    id: 'vm.pv',
    title: 'Make it a PV guest booted by pygrub',
    skip: (c) => c.recipe.boot.mode !== 'pv',
    calls: (c) =>
      c.recipe.boot.mode !== 'pv'
        ? []
        : [
            'VM.set_HVM_boot_policy ""',
            'VM.set_HVM_boot_params {}',
            `VM.set_PV_bootloader "${c.recipe.pv.bootloader}"`,
            `VM.set_PV_bootloader_args "${c.recipe.pv.bootloader_args}"`,
            `VM.set_PV_args "${c.recipe.pv.args}"`,
          ],
    async run(c) {
      const vm = need(c.state.vm, 'the VM')
      // Five independent fields of a halted VM: one round trip instead of five.
      await settleAll([
        VM.set_HVM_boot_policy(c.x, vm, ''),
        VM.set_HVM_boot_params(c.x, vm, {}),
        VM.set_PV_bootloader(c.x, vm, c.recipe.pv.bootloader),
        VM.set_PV_bootloader_args(c.x, vm, c.recipe.pv.bootloader_args),
        VM.set_PV_args(c.x, vm, c.recipe.pv.args),
      ])
    },
  },
  ...BOOT_STEPS,
  {
    id: 'vm.other-config',
    title: 'Set other-config keys',
    calls: (c) => [
      'VM.get_other_config',
      ...Object.keys(c.recipe.other_config).flatMap((k) => [`VM.remove_from_other_config ${k} (if present)`, `VM.add_to_other_config ${k}`]),
      `VM.add_to_other_config ${SETTINGS_KEY} (the settings applied, so a later run tells a change of the recipe from a change made on the pool)`,
    ],
    async run(c) {
      const vm = need(c.state.vm, 'the VM')
      // Read here, not taken from vm.install's read: VM.provision ran since, and what it
      // leaves in other_config is XAPI's (the template's install keys), not this run's.
      const current = await VM.get_other_config(c.x, vm)
      // add_to_* fails with MAP_DUPLICATE_KEY on an existing key, even with the same value.
      const keys = { ...c.recipe.other_config, [SETTINGS_KEY]: settingsRecord(wantedSettings(c.recipe)) }
      for (const [k, v] of Object.entries(keys)) {
        if (k in current) await VM.remove_from_other_config(c.x, vm, k)
        await VM.add_to_other_config(c.x, vm, k, v)
      }
    },
  },
  {
    id: 'vm.memory',
    title: 'Set memory limits',
    calls: (c) => {
      const m = c.recipe.memory
      return [`VM.set_memory_limits ${m.static_min} ${m.static_max} ${m.dynamic_min} ${m.dynamic_max}`]
    },
    async run(c) {
      const m = c.recipe.memory
      await VM.set_memory_limits(c.x, need(c.state.vm, 'the VM'), m.static_min, m.static_max, m.dynamic_min, m.dynamic_max)
    },
  },
  {
    id: 'vm.vcpus',
    title: 'Set VCPUs',
    calls: (c) => ['VM.get_VCPUs_max', `VM.set_VCPUs_max / VM.set_VCPUs_at_startup ${c.recipe.vcpus} (max first when growing)`],
    async run(c) {
      const vm = need(c.state.vm, 'the VM')
      // The clone's own VCPUs_max (the template's, unless XAPI's clone or provision changed
      // it): the order of the two calls depends on it (select/vcpus.ts). The one field, not
      // the whole record (~8 KB of XML for the client to parse).
      await setVcpus(c.x, vm, await VM.get_VCPUs_max(c.x, vm), c.recipe.vcpus)
    },
  },
  {
    id: 'vif.create',
    title: 'Add the network interface',
    calls: (c) => [`VIF.create {device: "${c.recipe.network.device}", network: ${c.targets.network.record.bridge}, MAC: ${c.targets.mac}, MTU: ${c.targets.network.record.MTU}}`],
    async run(c) {
      const ref = await VIF.create(c.x, {
        VM: need(c.state.vm, 'the VM'),
        network: c.targets.network.ref,
        device: c.recipe.network.device,
        MAC: c.targets.mac,
        MTU: c.targets.network.record.MTU,
      })
      c.state.created.push({ cls: 'VIF', ref, label: `${c.targets.mac} on ${c.targets.network.record.bridge}` })
    },
  },
  {
    id: 'vbd.create',
    title: 'Attach the disk',
    calls: (c) => [`VBD.create {userdevice: "${c.recipe.disk.device}", bootable: ${c.recipe.disk.bootable}, mode: ${c.recipe.disk.mode}, type: ${c.recipe.disk.type}}`],
    async run(c) {
      const ref = await VBD.create(c.x, {
        VM: need(c.state.vm, 'the VM'),
        VDI: need(c.state.vdi, 'the VDI'),
        userdevice: c.recipe.disk.device,
        bootable: c.recipe.disk.bootable,
        mode: c.recipe.disk.mode,
        type: c.recipe.disk.type,
      })
      c.state.created.push({ cls: 'VBD', ref, label: `userdevice ${c.recipe.disk.device}` })
    },
  },
  ...DRIVE_STEPS,
  {
    id: 'vm.start',
    title: 'Start the VM',
    calls: (c) => (c.recipe.start ? ['Async.VM.start (start_paused=false, force=false)'] : []),
    async run(c) {
      if (c.recipe.start) await VM.start(c.x, need(c.state.vm, 'the VM'))
    },
  },
  ...READY_STEPS,
  {
    id: 'vm.finish',
    title: 'Name the VM',
    calls: (c) => [`VDI.remove_from_other_config ${INCOMPLETE_KEY}`, `VM.set_name_label "${c.vmName}"`],
    async run(c) {
      // Mark off first, name second: a kill in between leaves the disk attached to a VM under
      // the temporary name, which leftovers.ts removes together. The other order would leave a
      // finished VM whose disk still says "incomplete", and a later run would take that disk
      // for a leftover once someone destroyed the VM by hand.
      await VDI.remove_from_other_config(c.x, need(c.state.vdi, 'the VDI'), INCOMPLETE_KEY)
      await VM.set_name_label(c.x, need(c.state.vm, 'the VM'), c.vmName)
    },
  },
  DRIVE_FINISH,
] as const satisfies readonly Step[]

/** Every step's id, as a type: a caller naming a step that does not exist fails to compile. */
export type StepId = (typeof ALL)[number]['id']

/** The HOWTO's sequence, one step per thing a person would check. */
export const STEPS: readonly Step<StepId>[] = ALL

/**
 * Each step by its id, for callers that run some of them (the fleet: the upload for a base
 * VDI, install to VCPUs for a golden template, VIF to start for each clone). A step takes
 * a StepContext (the recipe, the targets, what the run made so far in `state`) and its
 * output is what it adds to `state` (RunState: the refs it created, the upload's result).
 */
export const STEP = Object.fromEntries(STEPS.map((s) => [s.id, s])) as Record<StepId, Step<StepId>>
