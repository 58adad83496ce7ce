import { UserError, EXIT } from '../errors.js'
import type { DryRunResult, ProvisionResult } from '../provision/types.js'

/** The one place that turns results and errors into text and an exit code. */
export interface Output {
  json: boolean
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
}

/** The detected release and what it can run (src/provision/capabilities.ts), one line per host. */
function hostLines(h: NonNullable<DryRunResult['host']>): string[] {
  const yes = (b: boolean): string => (b ? 'yes' : 'no')
  const line = (role: string, x: typeof h.master): string => {
    const c = x.capabilities
    return `  ${role} ${x.name}: ${x.release}, API ${x.api_version}; hvm ${yes(c.hvm)}, uefi ${yes(c.uefi)}, pv ${yes(c.pv)}, 32-bit pv ${yes(c.pv32)}, pvh ${yes(c.pvh)}, secure boot certificates ${yes(c.secure_boot_certificates)}, import ${c.import_formats.join('/')}`
  }
  return [line('master', h.master), ...h.vm_hosts.filter((v) => v.name !== h.master.name).map((v) => line('runs on', v))]
}

export function printResult(out: Output, r: ProvisionResult | DryRunResult): void {
  if (out.json) {
    out.stdout.write(JSON.stringify(r) + '\n')
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
    out.stdout.write(`Upload: ${r.upload.data_bytes} data bytes of a ${r.upload.image_size}-byte image, ${r.upload.bytes_to_send} bytes on the wire.\n`)
    return
  }
  const pct = r.upload.image_size ? ((r.upload.bytes_sent / r.upload.image_size) * 100).toFixed(1) : '0'
  out.stdout.write(
    [
      `VM "${r.vm.name}" is ${r.vm.power_state}.`,
      `  uuid   ${r.vm.uuid}`,
      `  ref    ${r.vm.ref}`,
      `  MAC    ${r.mac}`,
      `  disk   VDI ${r.vdi.uuid} (${r.vdi.virtual_size} bytes) on SR ${r.sr.name_label} (${r.sr.uuid})`,
      `  upload ${r.upload.bytes_sent} bytes sent for a ${r.upload.image_size}-byte image (${pct}%)`,
      `  took   ${(r.duration_ms / 1000).toFixed(1)} s`,
      '',
    ].join('\n'),
  )
}

export function printError(out: Output, e: unknown): number {
  const info =
    e instanceof UserError
      ? e.info
      : { what: 'Unexpected failure', why: e instanceof Error ? e.message : String(e), fix: 'report this with the command you ran', exitCode: EXIT.failure }
  if (out.json) {
    out.stdout.write(JSON.stringify({ error: { what: info.what, why: info.why, fix: info.fix, removed: info.removed ?? [], kept: info.kept ?? [] } }) + '\n')
  } else {
    const lines = [`error: ${info.what}`, `  why: ${info.why}`, `  fix: ${info.fix}`]
    if (info.removed?.length) lines.push(`  removed what this run created: ${info.removed.join('; ')}`)
    if (info.kept?.length) lines.push(`  left in place: ${info.kept.join('; ')}`)
    out.stderr.write(lines.join('\n') + '\n')
  }
  return info.exitCode ?? EXIT.failure
}
