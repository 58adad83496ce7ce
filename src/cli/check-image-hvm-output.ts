import type { FirmwareVerdict } from '../preflight/hvm-report.js'
import type { CheckImageResult } from './check-image-command.js'
import { bytes, duration } from './units.js'

const LABEL: Record<string, string> = { bios: 'BIOS', uefi: 'UEFI' }

/** The text form of an HVM check: layout, ESP, root, each firmware's chain or reasons, warnings. */
export function formatCheckImageHvm(r: Extract<CheckImageResult, { mode: 'hvm' }>): string {
  const rep = r.report
  const verdicts = [rep.verdicts.bios, rep.verdicts.uefi]
  const summary = verdicts.map((v) => `${LABEL[v.firmware]}: ${v.boots ? 'boots' : 'fails'}`).join(', ')
  const lines = [`${r.image}: ${r.bootable ? 'BOOTABLE' : 'NOT BOOTABLE'} (HVM; ${summary}; checked: ${r.checked.map((c) => LABEL[c]).join(' and ')}, from ${r.recipe})`]
  const t = rep.table
  const parts = [...rep.partitions].sort((a, b) => a.start - b.start).map((p) => `${p.where} ${p.fs === 'none' ? '' : `${p.fs} `}at byte ${p.start}, ${bytes(p.size)}`)
  lines.push(`  disk    ${bytes(rep.image_size)}, ${t.kind === 'none' ? 'no partition table' : `${t.kind.toUpperCase()}: ${parts.join('; ') || 'no entries'}`}`)
  if (rep.esp !== null) {
    const e = rep.esp
    const loader = e.loader === 'present' ? `BOOTX64.EFI ${e.loader_size} bytes (${e.loader_kind})` : `BOOTX64.EFI ${e.loader}`
    lines.push(`  esp     ${e.where}: ${e.fs_error === null ? `${e.fs}, ${loader}` : `damaged (${e.fs_error})`}`)
  }
  const root = rep.root
  if (root === null) lines.push('  root    not found')
  else lines.push(`  root    ${root.where}: ${root.fs} (${root.os}), /boot/loader ${root.loader}, ${root.kernel_path} ${root.kernel}`)
  for (const v of verdicts) lines.push(`  ${LABEL[v.firmware]}: ${outcome(v)}`, ...v.problems.map((p) => `    why: ${p.message}\n    fix: ${p.fix}`))
  if (rep.warnings.length > 0) {
    lines.push('warnings:')
    for (const w of rep.warnings) lines.push(`  - ${w.message}\n    fix: ${w.fix}`)
  }
  lines.push(`checked in ${duration(rep.elapsed_ms)}`, '')
  return lines.join('\n')
}

function outcome(v: FirmwareVerdict): string {
  const chain = v.chain.join(' → ')
  if (v.boots) return `boots (${chain})`
  return chain === '' ? 'fails' : `fails after ${chain}`
}
