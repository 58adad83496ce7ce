import { UserError } from '../errors.js'
import { connect, type XapiConnection } from '../xapi/connection.js'
import { resolveTls, type TlsPolicy } from '../xapi/tls.js'
import type { Timeouts } from '../xapi/timeouts.js'
import { applyConversion } from './apply.js'
import type { Patch } from './boot-blocks.js'
import { analyse, ExportPrefix } from './export-reader.js'
import { convertible, inspectGuest } from './inspect.js'
import { KEY, readPrevious } from './marks.js'
import type { ConvertItem, ConvertReport } from './report.js'
import { SWITCH_CALLS } from './switch.js'
import { findTarget, type Target } from './target.js'
import { undoConversion } from './undo.js'

export interface ConvertOptions {
  url: string
  user: string
  password: string
  tls: TlsPolicy
  vm: string
  dryRun: boolean
  installBootcode: boolean
  undo: boolean
  /** Stop reading the disk past this many bytes (default 1 GiB). */
  maxRead?: number
  timeouts?: Partial<Timeouts>
  signal?: AbortSignal
}

export type ConvertResult =
  | { action: 'report'; report: ConvertReport; calls: string[] }
  | { action: 'refused'; report: ConvertReport; blockers: ConvertItem[] }
  | { action: 'converted'; report: ConvertReport; snapshot: string; bootcode_bytes: number; steps: string[] }
  | { action: 'undone'; vm: string; steps: string[] }

const DEFAULT_MAX_READ = 1024 * 1024 * 1024

export async function convert(o: ConvertOptions): Promise<ConvertResult> {
  const x = await login(o)
  try {
    const t = await findTarget(x, o.vm)
    if (o.undo) {
      if (o.dryRun) return { action: 'report', report: (await inspect(x, t, o)).report, calls: undoCalls(t) }
      assertHalted(t, 'undo')
      return { action: 'undone', vm: t.rec.name_label, steps: await undoConversion(x, t) }
    }
    const { report, patches } = await inspect(x, t, o)
    if (o.dryRun) return { action: 'report', report, calls: applyCalls(t, report, o.installBootcode) }
    const blockers = report.items.filter((i) => i.status === 'blocks' && !(i.fixed_by === 'convert' || (i.fixed_by === 'install-bootcode' && o.installBootcode)))
    if (blockers.length > 0) return { action: 'refused', report, blockers }
    assertHalted(t, 'convert')
    const done = await applyConversion(x, t, o.installBootcode ? patches : [], o.signal)
    return { action: 'converted', report, ...done }
  } finally {
    await x.close().catch(() => undefined)
  }
}

/** The report, and the boot blocks' bytes it describes (the report carries only where they go). */
async function inspect(x: XapiConnection, t: Target, o: ConvertOptions): Promise<{ report: ConvertReport; patches: Patch[] }> {
  const prev = readPrevious(t.rec)
  const pvArgs = prev?.PV_args ?? t.rec.PV_args
  const prefix = await ExportPrefix.open(x, t.vdi, t.disk.virtual_size, o.signal)
  let a
  try {
    a = await analyse(prefix, (read, size) => inspectGuest(read, size, pvArgs), o.maxRead ?? DEFAULT_MAX_READ)
  } finally {
    prefix.close()
  }
  const g = a.result
  const pv = t.rec.domain_type !== 'hvm'
  const domain: ConvertItem = pv
    ? {
        id: 'domain',
        status: 'blocks',
        fixed_by: 'convert',
        message: `the VM is a ${t.rec.domain_type} guest (PV-bootloader "${t.rec.PV_bootloader}"): XCP-ng 8.3 runs no PV guest`,
        fix: 'this command switches it to HVM (BIOS, disk first) and keeps the PV settings in other_config for --undo',
      }
    : { id: 'domain', status: 'ok', fixed_by: 'nothing', message: t.rec.other_config[KEY.state] ? `the VM is HVM (converted: ${t.rec.other_config[KEY.state]})` : 'the VM is already HVM', fix: '' }
  const items = [domain, ...g.items]
  const report: ConvertReport = {
    vm: { name_label: t.rec.name_label, uuid: t.rec.uuid, domain_type: t.rec.domain_type, power_state: t.rec.power_state },
    vdi: { uuid: t.disk.uuid, virtual_size: t.disk.virtual_size },
    items,
    bootcode: g.plan.patches.map((p) => ({ offset: p.offset, length: p.data.length, source: p.source, what: p.what })),
    bios_now: g.biosNow,
    bios_after_bootcode: g.biosAfter,
    convertible: convertible(items, true),
    read: { bytes: a.bytesRead, passes: a.passes },
  }
  return { report, patches: g.plan.patches }
}

function applyCalls(t: Target, r: ConvertReport, installBootcode: boolean): string[] {
  const calls: string[] = []
  if (readPrevious(t.rec) === null) calls.push(`VM.add_to_other_config ${KEY.previous} (the PV settings)`)
  if (t.rec.other_config[KEY.snapshot] === undefined) calls.push(`VM/VDI.add_to_other_config ${KEY.nonce}`, `VDI.snapshot ${t.disk.uuid}`, `VM.add_to_other_config ${KEY.snapshot}`)
  if (installBootcode && r.bootcode.length > 0) {
    calls.push(`VM.add_to_other_config ${KEY.bootcode}=written`, `PUT /import_raw_vdi?chunked: ${r.bootcode.map((p) => `${p.length} bytes at ${p.offset} from ${p.source}`).join(', ')}`)
  }
  return [...calls, ...SWITCH_CALLS, `VM.add_to_other_config ${KEY.state}=hvm`]
}

function undoCalls(t: Target): string[] {
  const oc = t.rec.other_config
  const calls: string[] = []
  if (oc[KEY.bootcode] === 'written' && oc[KEY.undo] !== 'disk-restored') calls.push(`VDI.copy ${oc[KEY.snapshot] ?? '(no snapshot recorded)'} into ${t.disk.uuid}`)
  calls.push('VM.set_HVM_boot_policy / set_HVM_boot_params / set_PV_bootloader / set_PV_bootloader_args / set_PV_args (the recorded values)')
  if (oc[KEY.snapshot]) calls.push(`VDI.destroy ${oc[KEY.snapshot]}`)
  return [...calls, `VM.remove_from_other_config ${Object.values(KEY).join(', ')}`]
}

function assertHalted(t: Target, what: string): void {
  if (t.rec.power_state === 'Halted') return
  throw new UserError({
    what: `VM "${t.rec.name_label}" is ${t.rec.power_state}`,
    why: `${what} changes its boot settings and disk, which needs it halted`,
    fix: `shut it down first (xe vm-shutdown uuid=${t.rec.uuid}), then run this again`,
  })
}

async function login(o: ConvertOptions): Promise<XapiConnection> {
  try {
    return await connect({ url: o.url, user: o.user, password: o.password, tls: await resolveTls(o.url, o.tls, o.timeouts?.connectMs), ...(o.timeouts ? { timeouts: o.timeouts } : {}) })
  } catch (e) {
    if (e instanceof UserError) throw e
    throw new UserError({ what: `Login to ${new URL(o.url).host} failed`, why: e instanceof Error ? e.message : String(e), fix: 'check --host, XAPI_USER and XAPI_PASSWORD' }, { cause: e })
  }
}
