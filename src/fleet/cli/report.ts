import type { Drift, RolloutResult, VmResult } from '../types.js'
import { hostLines } from '../../cli/output.js'
import { bytes, duration } from '../../cli/units.js'

/** Pure text for the CLI: the dry-run diff and the end-of-run summary (human units; --json keeps bytes and ms). */

/** Each difference with who made it: the file (`change`, applied) or the pool (`drift`, applied only with --reconcile). */
function driftLines(d: Drift[], indent: string): string[] {
  return d.flatMap((x) => [`${indent}- ${x.field}: ${x.have}`, `${indent}+ ${x.field}: ${x.want}   (${x.kind === 'change' ? 'changed in the file' : 'drift on the pool'})`])
}

/** Terraform marks replacements; this marks every action that halts, reboots or replaces a VM. */
const disrupts = (v: VmResult): string => (v.disruptive ? '  [disruptive: halts the VM]' : '')

/** ", wave k" when the run goes in more than one wave. */
const waveOf = (v: VmResult, r: RolloutResult): string => (v.wave !== null && r.waves.length > 1 ? `, wave ${v.wave}` : '')

/** A host named with its pool (lab/xcp2): two pools may both have an xcp1. */
const at = (v: VmResult): string => `${v.pool}/${v.host ?? '?'}`
const where = (v: VmResult): string => (v.host ? at(v) : `pool ${v.pool}`)
/** Every host has a "Local storage": the SR is named with the host it is seen from. */
const srOf = (v: VmResult): string => `SR "${v.sr ?? '?'}"${v.host ? ` on ${v.host}` : ''}`

/** --dry-run: what a run would do, as a diff against the pools (+ create, = same, ~ drift, ! cannot, ? extra). */
export function planDiff(r: RolloutResult): string {
  const w = Math.max(4, ...r.vms.map((v) => v.name.length))
  const out = [`Fleet "${r.fleet}": dry run, nothing was changed.`]
  // What each pool runs, as provision --dry-run shows it: the release decides which boot modes can go there.
  for (const p of r.pools) {
    if (!p.host) continue
    out.push(`Pool ${p.name} (${p.url}):`, ...hostLines(p.host).map((l) => `  ${l}`), ...p.warnings.map((w) => `    warning: ${w}`))
  }
  for (const v of r.vms) {
    const n = v.name.padEnd(w)
    if (v.action === 'create') {
      out.push(`  + ${n}  create on ${at(v)}, ${srOf(v)}, MAC ${v.mac ?? '?'}${v.address ? `, address ${v.address}` : ''}${waveOf(v, r)}`)
      if (v.leftovers.length) out.push(`      first removes what an interrupted run left: ${v.leftovers.join('; ')}`)
    } else if (v.action === 'none') out.push(`  = ${n}  unchanged (${where(v)})`)
    else if (v.action === 'drift') out.push(`  ~ ${n}  drift, left as is (--reconcile changes it)`, ...driftLines(v.drift, '      '))
    else if (v.action === 'update') out.push(`  ~ ${n}  update in place (${where(v)})${disrupts(v)}`, ...driftLines(v.drift, '      '))
    else if (v.action === 'reconcile') out.push(`  ~ ${n}  reconcile (${where(v)})${disrupts(v)}`, ...driftLines(v.drift, '      '))
    else if (v.action === 'replace') out.push(`-/+ ${n}  replace: destroy and create on ${at(v)}, ${srOf(v)}  [disruptive: destroys the VM and its disk]`, ...driftLines(v.drift, '      '))
    else out.push(`  ! ${n}  ${v.uuid ? 'cannot be changed' : 'cannot be created'}: ${v.error?.what ?? '?'}: ${v.error?.why ?? ''}`)
  }
  for (const e of r.extras) out.push(`  ? ${e.name.padEnd(w)}  tagged for this fleet in pool ${e.pool} but not in the file (left alone)`)
  for (const v of r.vms) for (const k of v.left_in_place) out.push(`  ? ${k}`)
  for (const l of r.pool_leftovers) out.push(`  - pool ${l.pool}: first removes what an interrupted rollout left: ${l.leftovers.join('; ')}`)
  if (r.bases.length) out.push('Base disks (one per SR and image):')
  for (const b of r.bases) {
    out.push(
      b.action === 'reuse'
        ? `  = pool ${b.pool}, SR "${b.sr}": re-use VDI ${b.vdi_uuid ?? '?'}`
        : `  + pool ${b.pool}, SR "${b.sr}": upload ${b.image} (sha256 ${b.image_sha256.slice(0, 12)}…)${b.action === 'resume' ? `, resuming into VDI ${b.vdi_uuid ?? '?'} an interrupted rollout left` : ''}`,
    )
  }
  if (r.templates.length) out.push('Golden templates (one per pool and group settings):')
  for (const t of r.templates) out.push(`  ${t.action === 'reuse' ? '=' : '+'} pool ${t.pool}: ${t.action === 'reuse' ? 're-use' : 'build'} "${t.name}"`)
  for (const p of r.pools) if (p.error) out.push(`Pool ${p.name} (${p.url}) could not be read: ${p.error.what}: ${p.error.why}`)
  const count = (a: string): number => r.vms.filter((v) => v.action === a).length
  const disruptive = r.vms.filter((v) => v.disruptive).length
  out.push(
    `Plan: ${count('create')} to create, ${count('update')} to update, ${count('replace')} to replace, ${count('none')} unchanged, ${count('drift')} drifted, ${count('reconcile')} to reconcile, ${count('fail')} cannot be made or changed.` +
      (disruptive ? ` ${disruptive} disruptive (applying asks first, or needs --yes).` : ''),
  )
  return out.join('\n') + '\n'
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  )
}

/** After a run: one row per VM (VM, host, state, duration, error), then details of failures and drift. */
export function summary(r: RolloutResult): string {
  // The address column only when a group has an address pool.
  const addr = r.vms.some((v) => v.address) ? (v: VmResult): string[] => [v.address ?? '-'] : (): string[] => []
  const rows = [
    ['VM', 'HOST', ...addr({ address: 'ADDRESS' } as VmResult), 'STATE', 'DURATION', 'ERROR'],
    ...r.vms.map((v) => [v.name, v.host ? at(v) : '-', ...addr(v), v.state, v.duration_ms ? duration(v.duration_ms) : '-', v.error?.what ?? '']),
  ]
  const out = table(rows)
  // Without --wave/--canary all VMs are one wave: its failure is the VMs' own, said below.
  if (r.failed_wave !== null && r.waves.length > 1) {
    const w = r.waves[r.failed_wave - 1]!
    const later = r.waves.filter((x) => x.state === 'skipped').reduce((n, x) => n + x.vms.length, 0)
    out.push('', `Wave ${w.wave} of ${r.waves.length} failed: ${w.error?.why ?? ''}`, `  ${later} VMs of later waves were not made. fix: ${w.error?.fix ?? ''}`)
  }
  for (const v of r.vms) {
    if (v.error) {
      out.push('', `${v.name}: ${v.error.what}`, `  why: ${v.error.why}`, `  fix: ${v.error.fix}`)
      if (v.error.removed.length) out.push(`  removed what this run created: ${v.error.removed.join('; ')}`)
      if (v.error.kept.length) out.push(`  could not remove: ${v.error.kept.join('; ')}`)
    }
    if (v.state === 'drift') out.push('', `${v.name} has drifted (left as is; run with --reconcile to change it):`, ...driftLines(v.drift, '  '))
    if (v.leftovers.length && v.state !== 'planned') out.push('', `${v.name}: removed what an interrupted run had left: ${v.leftovers.join('; ')}`)
  }
  for (const e of r.extras) out.push('', `${e.name} (${e.uuid}, pool ${e.pool}) carries this fleet's tag but is not in the fleet file; left alone.`)
  for (const v of r.vms) for (const k of v.left_in_place) out.push('', `${v.name}: ${k}.`)
  for (const l of r.pool_leftovers) {
    if (l.leftovers.length) out.push('', `pool ${l.pool}: removed what an interrupted rollout had left: ${l.leftovers.join('; ')}`)
    if (l.error) out.push('', `pool ${l.pool}: ${l.error.what}: ${l.error.why}`, `  fix: ${l.error.fix}`)
  }
  for (const p of r.pools) for (const w of p.warnings) out.push('', `pool ${p.name}: warning: ${w}`)
  const count = (s: string): number => r.vms.filter((v) => v.state === s).length
  const states = ['created', 'updated', 'replaced', 'unchanged', 'drift', 'reconciled', 'failed', 'skipped'].filter((s) => count(s)).map((s) => `${count(s)} ${s}`)
  const uploaded = r.bases.filter((b) => b.action !== 'reuse' && b.state === 'ready')
  const created = r.vms.filter((v) => v.state === 'created')
  // The bytes sent only when something was: "0 uploaded" says the rest.
  const sent = uploaded.length ? ` (${bytes(uploaded.reduce((n, b) => n + b.bytes_sent, 0))})` : ''
  const perVm = created.length ? ` (${(created.reduce((n, v) => n + v.calls, 0) / created.length).toFixed(1)} per new VM)` : ''
  out.push(
    '',
    `${r.vms.length} VMs: ${states.join(', ') || 'none'}. Bases: ${uploaded.length} uploaded${sent}, ` +
      `${r.bases.filter((b) => b.action === 'reuse').length} re-used. ${r.calls.total} XAPI calls${perVm}. ${duration(r.duration_ms)}.`,
  )
  return out.join('\n') + '\n'
}
