import { CONNECTION, CONSENT, DRY_RUN, JSON_OUT, TIMEOUTS } from './options.js'
import type { CommandSpec } from './commands.js'
import type { Output } from './output.js'
import type { OptionValues } from './parse.js'
import type { DestroyResult } from '../provision/destroy-run.js'

/** `provision destroy <vm>` (alias `uninstall`, xe's word): data only here, the work is loaded on use. */
export const DESTROY: CommandSpec = {
  name: 'destroy',
  aliases: ['uninstall'],
  summary: 'remove a VM the tool made, with the disks it made for it (asks first)',
  usage: ['destroy <vm name> --host <host> [--dry-run] [--yes]'],
  about: [
    '<vm name> is the name-label of a VM xcp-provision made (a VM without its marks is refused: not-managed). Its boot disk and config drive go with it; a disk attached by hand is only detached, never destroyed.',
    'Destroying is always disruptive: on a terminal it asks y/N; otherwise it needs --yes (consent-required, exit 2, nothing changed).',
    "It takes the name's claim as provision does: while a provision (or destroy) of the same name runs, it waits for it to end (at most 10 min, saying so), then plans on what that run left; after the wait it gives up with name-taken, nothing changed.",
  ],
  options: { ...CONNECTION, ...JSON_OUT, ...DRY_RUN, ...CONSENT, ...TIMEOUTS },
  examples: ['provision destroy web-01 --host xcp1 --dry-run', 'provision destroy web-01 --host xcp1 --yes --json', 'provision uninstall FreeBSD-9.0 --host xcp1'],
  exits: [
    '1 no such VM (not-found), or not made by the tool (not-managed); the answer was no (declined); another run held the name throughout the wait (name-taken)',
    '2 disruptive and no terminal to ask on, without --yes (consent-required)',
  ],
}

/** Runs it: credentials by the one rule (credentials.ts), the library's destroy, then the result. */
export async function runDestroy(positionals: string[], v: OptionValues, out: Output): Promise<number> {
  const [{ UserError }, { parseHost }, { resolveCredentials, withCredentialSource }, { terminalConfirm }, { destroy }, { timeoutsFrom }] = await Promise.all([
    import('../errors.js'),
    import('./host.js'),
    import('./credentials.js'),
    import('./confirm.js'),
    import('../provision/destroy-run.js'),
    import('./timeout-options.js'),
  ])
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? (v[k] as string) : undefined)
  const [name, extra] = positionals
  if (name === undefined)
    throw new UserError({ what: 'No VM given', why: 'destroy needs the name-label of a VM the tool made', fix: 'run e.g. provision destroy web-01 --host xcp1 --dry-run', code: 'bad-argument' })
  if (extra !== undefined) throw new UserError({ what: `Unexpected argument "${extra}"`, why: 'destroy takes one VM', fix: 'destroy one VM per run', code: 'bad-argument' })
  const host = str('host') ?? process.env.XAPI_HOST
  if (!host) throw new UserError({ what: 'No --host given', why: 'destroy needs to know which XAPI to talk to', fix: 'add --host <name>, or set XAPI_HOST', code: 'bad-argument' })
  const target = parseHost(host)
  if (target.kind === 'sim') {
    throw new UserError({
      what: '--host sim has nothing to destroy',
      why: 'the embedded simulator starts empty for each command',
      fix: 'run provision sim in another terminal and pass its URL as --host',
      code: 'bad-argument',
    })
  }
  const fingerprint = str('fingerprint') ?? process.env.XAPI_FINGERPRINT
  const creds = await resolveCredentials({ passwordFile: str('password-file') })
  const confirm = terminalConfirm()
  const result = await destroy({
    url: target.url,
    user: creds.user,
    password: creds.password,
    tls: v.insecure === true ? { kind: 'insecure' } : fingerprint ? { kind: 'pinned', fingerprint } : { kind: 'verify' },
    name,
    dryRun: v['dry-run'] === true,
    yes: v.yes === true,
    ...(confirm ? { confirm } : {}),
    timeouts: timeoutsFrom(v),
    // Waiting for a provision of the same name is said even with --json, as provision's warnings are.
    onWait: (m) => process.stderr.write(`warning: ${m}\n`),
  }).catch((e: unknown) => {
    throw withCredentialSource(e, creds.source)
  })
  out.stdout.write(out.json ? JSON.stringify(result) + '\n' : destroyText(result))
  return 0
}

export function destroyText(r: DestroyResult): string {
  // The VM is named once, in the head; the lines under it are the disks that went with it.
  const disks = r.removed.filter((x) => !x.startsWith('VM '))
  const head = r.dry_run
    ? `Dry run: nothing was changed. Destroying VM "${r.vm.name}" (${r.vm.uuid}, ${r.vm.power_state}) would:`
    : `Destroyed VM "${r.vm.name}" (${r.vm.uuid})${disks.length ? ' and the disks made for it:' : '; it had no disk of its own.'}`
  const body = r.dry_run ? r.calls.map((c) => `  ${c}`) : disks.map((x) => `  removed ${x}`)
  const kept = r.kept.map((d) => `  left in place (not made by xcp-provision): VDI ${d.name_label} (${d.uuid})`)
  return [head, ...body, ...kept, ''].join('\n')
}
