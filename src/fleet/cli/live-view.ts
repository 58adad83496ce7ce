import { basename } from 'node:path'
import type { RolloutEvent } from '../types.js'

interface Line {
  host: string
  text: string
  done: boolean
  failed: boolean
}

/** One line per wave event: which VMs, and whether it began, is ready, or failed (and stops the rollout). */
const waveText = (e: Extract<RolloutEvent, { type: 'wave' }>): string =>
  `wave ${e.wave} (${e.vms.length === 1 ? e.vms[0] : `${e.vms[0]} … ${e.vms.at(-1)}, ${e.vms.length} VMs`}): ${e.phase === 'start' ? 'started' : e.phase === 'ready' ? 'ready' : 'failed; later waves are not started'}`

const pct = (sent: number, total: number): number => (total ? Math.floor((sent / total) * 100) : 100)

/**
 * Progress for `provision rollout` on stderr. How each VM ended is the summary table's
 * (stdout), said once, never here as well (issue 15: nothing printed twice):
 * - on a terminal: one line per VM (its step, or how it ended) and one per base upload,
 *   redrawn in place at most ten times a second (the finished VMs fold into a count when
 *   they outnumber the rows), and erased at the end, when the table takes its place;
 * - otherwise (a log, CI): transitions only, as they happen: a large image's hash every
 *   25%, a VM started, a VM waiting for its guest, a wave begun, ready or failed, a base
 *   disk or golden template, a retry.
 */
export function rolloutView(stream: NodeJS.WriteStream, quiet = false): { onEvent: (e: RolloutEvent) => void; close: () => void } {
  if (quiet) return { onEvent: () => undefined, close: () => undefined }
  const tty = Boolean(stream.isTTY)
  const vms = new Map<string, Line>()
  const bases = new Map<string, string>()
  const plainPct = new Map<string, number>()
  /** For the log: where each VM goes (from the plan event), and which have started. */
  const placed = new Map<string, string>()
  const started = new Set<string>()
  let drawn = 0
  let timer: NodeJS.Timeout | undefined

  function draw(): void {
    timer = undefined
    const rows = Math.max(5, (stream.rows || 24) - 2)
    const all = [...vms.entries()]
    const w = Math.max(4, ...all.map(([n]) => n.length))
    const fmt = ([n, l]: [string, Line]): string => `${l.failed ? '✗' : l.done ? '✓' : '…'} ${n.padEnd(w)}  ${l.host.padEnd(8)}  ${l.text}`
    let lines = [...bases.values()]
    const room = rows - lines.length
    if (all.length <= room) lines.push(...all.map(fmt))
    else {
      const active = all.filter(([, l]) => !l.done || l.failed)
      lines.push(`  ${all.length - active.length} of ${all.length} VMs finished`, ...active.slice(0, room - 1).map(fmt))
    }
    lines = lines.map((l) => l.slice(0, (stream.columns || 120) - 1))
    let s = drawn ? `\x1b[${drawn}A` : ''
    for (const l of lines) s += `\x1b[2K${l}\n`
    for (let i = lines.length; i < drawn; i++) s += '\x1b[2K\n'
    if (drawn > lines.length) s += `\x1b[${drawn - lines.length}A`
    stream.write(s)
    drawn = lines.length
  }
  const schedule = (): void => {
    timer ??= setTimeout(draw, 100)
  }

  function plain(e: RolloutEvent): void {
    if (e.type === 'image-hash') {
      const p = pct(e.hashed, e.total)
      if (p >= (plainPct.get(e.image) ?? 0) + 25) {
        plainPct.set(e.image, p)
        stream.write(`image ${basename(e.image)}: sha256 ${p}%\n`)
      }
    } else if (e.type === 'plan') for (const v of e.vms) placed.set(v.name, v.host ? ` on ${v.pool}/${v.host}` : '')
    else if (e.type === 'vm-step') {
      if (!started.has(e.vm)) {
        started.add(e.vm)
        stream.write(`${e.vm}: started${placed.get(e.vm) ?? ''}\n`)
      }
      if (e.step === 'wait') stream.write(`${e.vm}: waiting for the guest\n`)
    } else if (e.type === 'base') {
      const key = `${e.pool}/${e.sr}`
      const p = pct(e.sent, e.total)
      if (e.phase !== 'upload') stream.write(`base disk on pool ${e.pool}, SR "${e.sr}": ${e.phase}\n`)
      else if (p >= (plainPct.get(key) ?? -25) + 25) {
        plainPct.set(key, p)
        stream.write(`base disk on pool ${e.pool}, SR "${e.sr}": upload ${p}%\n`)
      }
    } else if (e.type === 'template' && e.phase !== 'build') stream.write(`golden template "${e.name}" on pool ${e.pool}: ${e.phase}\n`)
    else if (e.type === 'retry') stream.write(`${e.vm ?? 'setup'}: ${e.method} answered ${e.code}, retrying (attempt ${e.attempt + 1})\n`)
    else if (e.type === 'wave') stream.write(`${waveText(e)}\n`)
  }

  function onEvent(e: RolloutEvent): void {
    if (!tty) return plain(e)
    // An image's hash is done before the plan: its line goes when the VMs' lines come.
    if (e.type === 'image-hash') bases.set(`image ${e.image}`, `  image ${basename(e.image)}: sha256 ${pct(e.hashed, e.total)}%`)
    else if (e.type === 'plan') for (const k of bases.keys()) if (k.startsWith('image ')) bases.delete(k)
    if (e.type === 'plan') for (const v of e.vms) vms.set(v.name, { host: v.host ? `${v.pool}/${v.host}` : '-', text: 'waiting', done: false, failed: false })
    else if (e.type === 'vm-step') Object.assign(vms.get(e.vm) ?? {}, { text: e.title })
    else if (e.type === 'vm-done') Object.assign(vms.get(e.vm) ?? {}, { text: e.error ? `${e.state}: ${e.error.what}` : e.state, done: true, failed: e.state === 'failed' })
    else if (e.type === 'base') {
      const label = `  base disk, pool ${e.pool}, SR "${e.sr}"`
      bases.set(`${e.pool}/${e.sr}`, e.phase === 'upload' ? `${label}: upload ${pct(e.sent, e.total)}%` : `${label}: ${e.phase}`)
    } else if (e.type === 'wave') bases.set('wave', `  ${waveText(e)}`)
    schedule()
  }

  /** The last frame goes: the summary table that follows says how each VM ended. */
  function erase(): void {
    if (!drawn) return
    let s = `\x1b[${drawn}A`
    for (let i = 0; i < drawn; i++) s += '\x1b[2K\n'
    stream.write(`${s}\x1b[${drawn}A`)
    drawn = 0
  }

  return {
    onEvent,
    close: () => {
      if (!tty) return
      if (timer) clearTimeout(timer)
      timer = undefined
      erase()
    },
  }
}
