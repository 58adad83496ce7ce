import { EXIT } from '../errors.js'
import type { FlavourVerdict, PreflightReport } from '../preflight/report.js'
import type { CheckImageResult } from './check-image-command.js'
import { formatCheckImageHvm } from './check-image-hvm-output.js'
import type { Output } from './output.js'
import { bytes, duration } from './units.js'

/** Prints a check-image result (text or --json) and returns the exit code: 0 only when every checked flavour or firmware boots. */
export function printCheckImage(out: Output, r: CheckImageResult): number {
  if (out.json) out.stdout.write(JSON.stringify({ image: r.image, recipe: r.recipe, checked: r.checked, bootable: r.bootable, ...r.report }) + '\n')
  else out.stdout.write(r.mode === 'hvm' ? formatCheckImageHvm(r) : formatCheckImage(r))
  return r.bootable ? 0 : EXIT.failure
}

const LABEL: Record<string, string> = { upstream: 'upstream pygrub', 'xcp-ng': 'XCP-ng pygrub' }

export function formatCheckImage(r: Extract<CheckImageResult, { mode: 'pv' }>): string {
  const rep = r.report
  const verdicts = [rep.verdicts.upstream, rep.verdicts['xcp-ng']]
  const summary = verdicts.map((v) => `${LABEL[v.flavour]}: ${v.boots ? 'boots' : 'fails'}`).join(', ')
  const lines = [`${r.image}: ${r.bootable ? 'BOOTABLE' : 'NOT BOOTABLE'} (${summary}; checked: ${r.checked.join(' and ')})`]
  lines.push(`  args    PV-bootloader-args "${rep.bootloader_args}", PV-args "${rep.pv_args}" (from ${r.recipe})`)
  lines.push(...layoutLines(rep))
  let previous = ''
  for (const v of verdicts) {
    const reasons = v.problems.map((p) => `    why: ${p.message}\n    fix: ${p.fix}`).join('\n')
    lines.push(`  ${LABEL[v.flavour]}: ${outcome(v)}`)
    if (reasons !== '') lines.push(reasons === previous ? '    (same reasons as above)' : reasons)
    previous = reasons
  }
  if (rep.offset_fix !== null) {
    lines.push(`  fix: set PV-bootloader-args to "${rep.offset_fix.bootloader_args}" (provision --fix-offset does it)`)
  }
  if (rep.warnings.length > 0) {
    lines.push('warnings:')
    for (const w of rep.warnings) lines.push(`  - ${w.message}\n    fix: ${w.fix}`)
  }
  lines.push(`checked in ${duration(rep.elapsed_ms)}`, '')
  return lines.join('\n')
}

function outcome(v: FlavourVerdict): string {
  if (!v.pygrub.ok) return `fails ("${v.pygrub.message}")`
  const loaded = `extracts ${v.pygrub.kernel_bytes} bytes from byte ${v.pygrub.offset}`
  return v.boots ? `boots (${loaded})` : `${loaded}, but the guest cannot start`
}

function layoutLines(rep: PreflightReport): string[] {
  const lines: string[] = []
  const t = rep.table
  const entries = t.entries.map((e) => `${t.kind === 'gpt' ? 'p' : 's'}${e.index} ${e.type_name}${e.active ? ' (active)' : ''} at byte ${e.start}, ${bytes(e.size)}`)
  lines.push(`  disk    ${bytes(rep.image_size)}, ${t.kind === 'none' ? 'no partition table' : `${t.kind.toUpperCase()}: ${entries.join('; ') || 'no entries'}`}`)
  for (const l of rep.labels) {
    const parts = l.partitions.map((p) => `${p.letter} ${p.fstype} at ${p.start_in_slice === null ? '?' : `+${p.start_in_slice}`} sectors`)
    const ok = l.checksum_valid && l.problems.length === 0 ? 'valid' : `INVALID (${l.problems.join('; ') || 'checksum'})`
    lines.push(`  label   ${l.slice === 0 ? 'disk' : `slice ${l.slice}`}: ${parts.join(', ')}; ${l.offsets} offsets, ${ok}`)
  }
  const root = rep.root
  if (root === null) lines.push('  root    not found')
  else {
    const fs = root.fs === 'none' ? 'no UFS' : `${root.fs} (superblock at +${root.superblock_at ?? '?'})`
    const kernel = root.kernel === 'present' ? `${rep.kernel_path} ${root.kernel_size} bytes` : `${rep.kernel_path} ${root.kernel}`
    lines.push(`  root    ${root.where} at byte ${root.start}: ${fs}${root.fs === 'none' ? '' : `, ${kernel}`}`)
  }
  return lines
}
