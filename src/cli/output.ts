import { UserError, EXIT, errorCode, exitCodeOf } from '../errors.js'
import type { ExistingResult } from '../provision/existing.js'
import { existingText } from './existing-output.js'
import type { DryRunResult, ProvisionResult } from '../provision/types.js'
import { redact } from '../xapi/secrets.js'
import { bytes, duration } from './units.js'

/**
 * C0 and C1 controls, DEL, and the bidi overrides that reorder what a terminal shows:
 * text from a host, a file or an argument could move the cursor, recolour, retitle the
 * terminal or hide part of a line. Newline and tab pass; so, on a terminal, do the
 * three sequences this CLI draws its progress with (clear line, carriage return after
 * it, cursor up), and nothing else.
 */
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g
const OWN_SEQUENCES = /\x1b\[2K\r?|\x1b\[\d+A/g

/** A control as visible text: "\u001b". Valid inside a JSON string too, where it means the same character. */
const shown = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`

/**
 * Every string this process prints passes here: secrets (the password, session ids,
 * whatever a host echoed of them) become <redacted>, and controls become visible text.
 */
export function printable(text: string, terminal = false, colour = false): string {
  const clean = redact(text)
  if (!terminal) return clean.replace(CONTROLS, shown)
  if (colour) return paint(neutralise(clean))
  return neutralise(clean)
}

function neutralise(clean: string): string {
  // Keep this CLI's own drawing sequences; neutralise every other control around them.
  let out = ''
  let last = 0
  for (const m of clean.matchAll(OWN_SEQUENCES)) {
    out += clean.slice(last, m.index).replace(CONTROLS, shown) + m[0]
    last = m.index + m[0].length
  }
  return out + clean.slice(last).replace(CONTROLS, shown)
}

/** Colours added after neutralising, so only this CLI's own fixed sequences reach the terminal. */
const PAINT: Record<string, string> = { error: '\x1b[1;31m', warning: '\x1b[33m' }
function paint(text: string): string {
  return text.replace(/^(error|warning):/gm, (_m, word: string) => `${PAINT[word]}${word}:\x1b[0m`)
}

/**
 * Colour only on a terminal, never with NO_COLOR set (no-color.org) or TERM=dumb. main()
 * also makes a TERM=dumb terminal count as no terminal, so no cursor sequence is drawn either.
 */
export function useColour(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR && env.TERM !== 'dumb'
}

/**
 * Routes every write to the stream through printable(): the one place, so no module
 * that prints (progress, the fleet's live view, a warning) can leak a secret or a raw
 * escape, whoever wrote the message and wherever its text came from.
 */
const guarded = new WeakSet<NodeJS.WriteStream>()

export function guardStream(stream: NodeJS.WriteStream): void {
  if (guarded.has(stream)) return
  guarded.add(stream)
  // TERM=dumb: a terminal that draws no escape; every renderer then prints plain lines.
  if (process.env.TERM === 'dumb' && stream.isTTY) Object.defineProperty(stream, 'isTTY', { value: false })
  const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean
  const terminal = Boolean(stream.isTTY)
  const colour = useColour(stream)
  stream.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
    const text = typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : undefined
    if (text === undefined) return write(chunk, ...rest)
    const encoding = typeof rest[0] === 'string' ? rest.shift() : undefined
    if (encoding !== undefined && encoding !== 'utf8' && encoding !== 'utf-8') return write(chunk, encoding, ...rest)
    return write(printable(text, terminal, colour), ...rest)
  }) as NodeJS.WriteStream['write']
}

export type LogLevel = 'quiet' | 'normal' | 'verbose'

/** The one place that turns results and errors into text and an exit code. */
export interface Output {
  json: boolean
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
  /** --quiet: the result, warnings and errors only; --verbose: each XAPI call too (verbose.ts). */
  level?: LogLevel
  colour?: boolean
}

/** The detected release and what it can run (src/provision/capabilities.ts), one line per host. */
export function hostLines(h: NonNullable<DryRunResult['host']>): string[] {
  const yes = (b: boolean): string => (b ? 'yes' : 'no')
  const line = (role: string, x: typeof h.master): string => {
    const c = x.capabilities
    return `  ${role} ${x.name}: ${x.release}, API ${x.api_version}; hvm ${yes(c.hvm)}, uefi ${yes(c.uefi)}, pv ${yes(c.pv)}, 32-bit pv ${yes(c.pv32)}, pvh ${yes(c.pvh)}, secure boot certificates ${yes(c.secure_boot_certificates)}, import ${c.import_formats.join('/')}`
  }
  return [line('master', h.master), ...h.vm_hosts.filter((v) => v.name !== h.master.name).map((v) => line('runs on', v))]
}

export function printResult(out: Output, r: ProvisionResult | DryRunResult | ExistingResult): void {
  if (out.json) {
    out.stdout.write(JSON.stringify(r) + '\n')
    return
  }
  if ('existing' in r) {
    out.stdout.write(existingText(r))
    return
  }
  if ('dry_run' in r) {
    out.stdout.write(`Dry run: nothing was changed. Plan for VM "${r.vm_name}" on SR ${r.sr.name_label} (${r.sr.uuid}), MAC ${r.mac}:\n`)
    if (r.host) for (const line of hostLines(r.host)) out.stdout.write(`${line}\n`)
    let step = ''
    for (const c of r.calls) {
      if (c.step !== step) out.stdout.write(`  ${(step = c.step)}\n`)
      out.stdout.write(`    ${c.call}\n`)
    }
    out.stdout.write(`Upload: ${bytes(r.upload.data_bytes)} of data in a ${bytes(r.upload.image_size)} image, ${bytes(r.upload.bytes_to_send)} on the wire.\n`)
    return
  }
  const pct = r.upload.image_size ? ((r.upload.bytes_sent / r.upload.image_size) * 100).toFixed(1) : '0'
  out.stdout.write(
    [
      `VM "${r.vm.name}" is ${r.vm.power_state}.`,
      `  uuid   ${r.vm.uuid}`,
      `  ref    ${r.vm.ref}`,
      `  MAC    ${r.mac}`,
      `  disk   VDI ${r.vdi.uuid} (${bytes(r.vdi.virtual_size)}) on SR ${r.sr.name_label} (${r.sr.uuid})`,
      `  upload ${bytes(r.upload.bytes_sent)} sent for a ${bytes(r.upload.image_size)} image (${pct}%)`,
      ...(r.upload.verify ? [`  verify verified ${r.upload.verify.segments_verified}/${r.upload.verify.segments} segments (${bytes(r.upload.verify.bytes_read)} read back)`] : []),
      `  took   ${duration(r.duration_ms)}`,
      '',
    ].join('\n'),
  )
}

export function printError(out: Output, e: unknown): number {
  const info =
    e instanceof UserError
      ? { ...e.info, code: e.code }
      : { what: 'Unexpected failure', why: e instanceof Error ? e.message : String(e), fix: 'report this with the command you ran', code: 'internal', exitCode: EXIT.failure }
  const code = errorCode(info)
  if (out.json) {
    out.stdout.write(JSON.stringify({ error: { code, what: info.what, why: info.why, fix: info.fix, removed: info.removed ?? [], kept: info.kept ?? [] } }) + '\n')
  } else {
    const lines = [`error: ${info.what} [${code}]`, `  why: ${info.why}`, `  fix: ${info.fix}`]
    if (info.removed?.length) lines.push(`  removed what this run created: ${info.removed.join('; ')}`)
    if (info.kept?.length) lines.push(`  left in place: ${info.kept.join('; ')}`)
    out.stderr.write(lines.join('\n') + '\n')
  }
  return exitCodeOf(info)
}
