import { UserError } from '../errors.js'
import type { XapiConnection } from '../xapi/connection.js'
import * as VDI from '../xapi/vdi.js'
import * as VM from '../xapi/vm.js'
import { KEY, readPrevious, setVmMark } from './marks.js'
import { restoreSettings } from './switch.js'
import { getVdi, vdiByUuid, type Target } from './target.js'

/**
 * --undo, each step recorded or idempotent so that it too survives a kill: the disk
 * from the snapshot (VDI.copy into the disk, only when boot blocks were written: an
 * untouched disk keeps what the guest wrote since), then the PV settings, then the
 * snapshot is destroyed and the marks removed, the recorded settings last.
 */
export async function undoConversion(x: XapiConnection, t: Target): Promise<string[]> {
  const prev = readPrevious(t.rec)
  const oc = t.rec.other_config
  if (prev === null) {
    throw new UserError({
      what: `VM "${t.rec.name_label}" has no conversion to undo`,
      why: `its other_config has no ${KEY.previous}: xcp-provision did not convert it, or an undo already finished`,
      fix: 'nothing to do; provision convert without --undo reports its state',
    })
  }
  const steps: string[] = []
  const snapUuid = oc[KEY.snapshot]
  const snap = snapUuid === undefined ? null : await vdiByUuid(x, snapUuid)
  if (oc[KEY.bootcode] === 'written' && oc[KEY.undo] !== 'disk-restored') {
    if (snap === null) {
      throw new UserError({
        what: 'The snapshot to restore the disk from is gone',
        why: `other_config says boot blocks were written, and VDI ${snapUuid ?? '(none recorded)'} does not exist`,
        fix: `restore the disk from a backup, or accept the boot blocks and remove other_config:${KEY.bootcode} to undo only the settings`,
      })
    }
    const disk = await getVdi(x, t.vdi)
    await VDI.copy(x, snap, disk.SR, 'OpaqueRef:NULL', t.vdi)
    await setVmMark(x, t.vm, KEY.undo, 'disk-restored')
    steps.push(`copied snapshot ${snapUuid} back into the disk (VDI.copy into_vdi)`)
  }
  await restoreSettings(x, t.vm, prev)
  steps.push(`restored domain_type ${prev.domain_type}, HVM-boot-policy "${prev.HVM_boot_policy}", PV-bootloader "${prev.PV_bootloader}" and its arguments`)
  if (snap !== null) {
    await VDI.destroy(x, snap).catch((e: unknown) => {
      if ((e as { code?: string }).code !== 'HANDLE_INVALID') throw e
    })
    steps.push(`destroyed snapshot ${snapUuid}`)
  }
  const disk = await getVdi(x, t.vdi)
  if (disk.other_config[KEY.nonce] !== undefined) await VDI.remove_from_other_config(x, t.vdi, KEY.nonce)
  for (const k of [KEY.state, KEY.bootcode, KEY.snapshot, KEY.nonce, KEY.undo, KEY.previous]) await VM.remove_from_other_config(x, t.vm, k)
  return steps
}
