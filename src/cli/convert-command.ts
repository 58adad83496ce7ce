import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { UserError, EXIT } from '../errors.js'
import type { ConvertResult } from '../convert/run.js'
import type { ConvertReport } from '../convert/report.js'
import type { TlsPolicy } from '../xapi/tls.js'
import type { Timeouts } from '../xapi/timeouts.js'
import { resolveCredentials, withCredentialSource } from './credentials.js'
import { parseHost } from './host.js'
import type { Output } from './output.js'
import { runDir } from '../run-dir.js'
import { bytes } from './units.js'

export interface ConvertArgs {
  positionals: string[]
  host: string | undefined
  dryRun: boolean
  installBootcode: boolean
  undo: boolean
  insecure: boolean
  fingerprint?: string | undefined
  passwordFile?: string | undefined
  maxRead?: string | undefined
  timeouts?: Partial<Timeouts> | undefined
}

/** The simulated release for --host sim: the newest that still runs the HOWTO's PV guest. */
const SIM_PROFILE = 'xcp-ng-8.2'

/**
 * `provision convert <vm> --host …`: report, then (unless --dry-run) convert or undo.
 * With --host sim, the embedded simulator first gets the HOWTO's PV guest under that
 * name, provisioned from the generated sample image, so there is something to convert.
 */
export async function runConvert(args: ConvertArgs): Promise<ConvertResult> {
  const [vm, extra] = args.positionals
  if (vm === undefined)
    throw new UserError({ what: 'No VM given', why: 'convert needs the name-label or uuid of a PV VM', fix: 'run e.g. provision convert FreeBSD-9.0 --host xcp1 --dry-run', exitCode: EXIT.usage })
  if (extra !== undefined) throw new UserError({ what: `Unexpected argument "${extra}"`, why: 'convert takes one VM', fix: 'convert one VM per run', exitCode: EXIT.usage })
  if (!args.host) throw new UserError({ what: 'No --host given', why: 'convert needs to know which XAPI to talk to', fix: 'add --host <name> (or --host sim), or set XAPI_HOST', exitCode: EXIT.usage })
  if (args.undo && args.installBootcode)
    throw new UserError({ what: '--undo and --install-bootcode were both given', why: '--undo puts the disk back from the snapshot', fix: 'keep one of them', exitCode: EXIT.usage })
  const maxRead = args.maxRead === undefined ? undefined : Number(args.maxRead) * 1024 * 1024
  if (maxRead !== undefined && !(Number.isInteger(maxRead) && maxRead > 0))
    throw new UserError({
      what: `--max-read ${args.maxRead} is not a size`,
      why: 'it is the MiB of the disk convert may read',
      fix: 'pass a whole number of MiB, e.g. --max-read 2048',
      exitCode: EXIT.usage,
    })
  const target = parseHost(args.host)
  const cleanups: (() => Promise<void>)[] = []
  try {
    let url: string
    let creds: { user: string; password: string; source: string }
    let tls: TlsPolicy = args.insecure ? { kind: 'insecure' } : args.fingerprint ? { kind: 'pinned', fingerprint: args.fingerprint } : { kind: 'verify' }
    if (target.kind === 'sim') {
      const sim = await startSimWithSample(vm, cleanups)
      url = sim.url
      creds = { ...sim.creds, source: "the simulator's default credentials" }
      tls = { kind: 'verify' }
    } else {
      url = target.url
      creds = await resolveCredentials({ passwordFile: args.passwordFile })
    }
    if (args.insecure) process.stderr.write('warning: --insecure: the host certificate is not verified\n')
    const { convert } = await import('../convert/run.js')
    return await convert({
      url,
      user: creds.user,
      password: creds.password,
      tls,
      vm,
      dryRun: args.dryRun,
      installBootcode: args.installBootcode,
      undo: args.undo,
      ...(maxRead ? { maxRead } : {}),
      ...(args.timeouts ? { timeouts: args.timeouts } : {}),
    }).catch((e: unknown) => {
      throw withCredentialSource(e, creds.source)
    })
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined)
  }
}

async function startSimWithSample(vm: string, cleanups: (() => Promise<void>)[]): Promise<{ url: string; creds: { user: string; password: string } }> {
  const { startSimulator, DEFAULT_CREDENTIALS } = await import('../../mocks/simulator.js')
  const sim = await startSimulator({ profile: SIM_PROFILE })
  cleanups.push(() => sim.close())
  const { dir } = await runDir('sample')
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  const image = join(dir, 'freebsd-sample.img')
  await (await import('../image/write-image.js')).writeSampleImage(image)
  const { loadRecipe } = await import('../recipe/load.js')
  const { provision } = await import('../provision/run.js')
  const { recipe } = await loadRecipe('freebsd-9')
  process.stderr.write(`simulating XCP-ng 8.2 (profile ${SIM_PROFILE}) with the HOWTO's PV guest "${vm}" from the sample image\n`)
  const made = await provision({
    recipe,
    image,
    url: sim.url,
    user: DEFAULT_CREDENTIALS.user,
    password: DEFAULT_CREDENTIALS.password,
    name: vm,
    dryRun: false,
    keepOnFailure: false,
    skipPreflight: false,
    fixOffset: false,
    verify: false,
  })
  if ('dry_run' in made) throw new Error('internal: the sample VM was not made')
  // Converting needs the guest halted, as on a real host.
  const { connect } = await import('../xapi/connection.js')
  const x = await connect({ url: sim.url, user: DEFAULT_CREDENTIALS.user, password: DEFAULT_CREDENTIALS.password })
  await (await import('../xapi/vm.js')).hard_shutdown(x, made.vm.ref)
  await x.close()
  return { url: sim.url, creds: DEFAULT_CREDENTIALS }
}

const TAG = { ok: 'ok    ', blocks: 'BLOCKS', warn: 'warn  ' } as const

export function printReport(out: Output, r: ConvertReport): void {
  const lines = [
    `VM "${r.vm.name_label}" (${r.vm.uuid}): ${r.vm.domain_type}, ${r.vm.power_state}; boot disk VDI ${r.vdi.uuid} (${bytes(r.vdi.virtual_size)}), ${bytes(r.read.bytes)} read in ${r.read.passes} passes`,
  ]
  for (const i of r.items) {
    lines.push(`  [${TAG[i.status]}] ${i.id}: ${i.message}`)
    if (i.fix) lines.push(`           fix (${i.fixed_by}): ${i.fix}`)
  }
  const verdict = (v: ConvertReport['bios_now']): string => (v.boots ? `boots (${v.chain.join(' → ')})` : `does not boot: ${v.problems[0]?.message ?? 'unknown'}`)
  lines.push(`  BIOS now: ${verdict(r.bios_now)}`)
  if (r.bootcode.length) lines.push(`  BIOS after --install-bootcode: ${verdict(r.bios_after_bootcode)}`)
  out.stdout.write(lines.join('\n') + '\n')
}

/** Prints the result; returns the exit code (1 when the conversion was refused). */
export function printConvert(out: Output, r: ConvertResult): number {
  if (out.json) {
    out.stdout.write(JSON.stringify(r) + '\n')
    return r.action === 'refused' ? EXIT.failure : 0
  }
  if (r.action === 'undone') {
    out.stdout.write([`VM "${r.vm}" is back to its PV settings.`, ...r.steps.map((s) => `  ${s}`)].join('\n') + '\n')
    return 0
  }
  printReport(out, r.report)
  if (r.action === 'report') out.stdout.write(['Dry run: nothing was changed. Calls a conversion would make:', ...r.calls.map((c) => `  ${c}`)].join('\n') + '\n')
  if (r.action === 'converted') out.stdout.write([`Converted to HVM; snapshot of the disk before: VDI ${r.snapshot} (--undo puts everything back).`, ...r.steps.map((s) => `  ${s}`)].join('\n') + '\n')
  if (r.action === 'refused') {
    const byGuest = r.blockers.filter((b) => b.fixed_by === 'guest').map((b) => b.id)
    const byFlag = r.blockers.filter((b) => b.fixed_by === 'install-bootcode').map((b) => b.id)
    out.stderr.write(
      [
        'error: Not converted: the guest would not boot as HVM [convert-refused]',
        `  why: ${r.blockers.map((b) => b.id).join(', ')} block the boot (see above)`,
        `  fix: ${[byGuest.length ? `fix ${byGuest.join(', ')} inside the guest while it still runs PV` : '', byFlag.length ? `add --install-bootcode for ${byFlag.join(', ')}` : ''].filter(Boolean).join('; then ')}; nothing was changed`,
      ].join('\n') + '\n',
    )
    return EXIT.failure
  }
  return 0
}
