import type { ProvisionEvent } from '../provision/types.js'
import { watchSpools, type SpoolProgress } from '../disk/spool.js'

const MiB = 1024 * 1024

function fmtBytes(n: number): string {
  return n >= 1024 * MiB ? `${(n / 1024 / MiB).toFixed(2)} GiB` : `${(n / MiB).toFixed(1)} MiB`
}

function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '--:--'
  const m = Math.floor(s / 60)
  return `${m}:${String(Math.round(s % 60)).padStart(2, '0')}`
}

/**
 * Renders provision events on stderr: a bar with bytes, rate and ETA during the upload
 * on a terminal, plain lines otherwise (logs, CI). Returns the event handler.
 */
export function progressRenderer(stream: NodeJS.WriteStream, quiet = false): (e: ProvisionEvent) => void {
  const tty = Boolean(stream.isTTY)
  if (!quiet) watchSpools(spoolRenderer(stream))
  let uploadStart = 0
  let lastDraw = 0
  let lastPlainPct = -1
  const titles = new Map<string, string>()
  return (e) => {
    // --json keeps stderr quiet, but not about what the run did beyond its result (leftovers removed…).
    if (quiet && e.type !== 'warning') return
    switch (e.type) {
      case 'step':
        titles.set(e.step, e.title)
        if (tty) stream.write(`\x1b[2K\r… ${e.title}`)
        else stream.write(`${e.title}…\n`)
        if (e.step === 'upload') uploadStart = Date.now()
        break
      case 'step-done':
        if (tty) stream.write(`\x1b[2K\r✓ ${titles.get(e.step) ?? e.step} (${e.ms} ms)\n`)
        else stream.write(`  done (${e.ms} ms)\n`)
        break
      case 'upload': {
        const now = Date.now()
        const pct = e.total ? Math.floor((e.sent / e.total) * 100) : 100
        if (!tty) {
          // One line per 25%: enough to see it move in a log without flooding it.
          if (pct >= lastPlainPct + 25 || e.sent === e.total) {
            lastPlainPct = pct
            stream.write(`  upload ${pct}% (${fmtBytes(e.sent)} of ${fmtBytes(e.total)})\n`)
          }
          break
        }
        if (now - lastDraw < 100 && e.sent < e.total) break
        lastDraw = now
        const secs = Math.max((now - uploadStart) / 1000, 0.001)
        const rate = e.sent / secs
        const width = 30
        const fill = Math.round((pct / 100) * width)
        const bar = '='.repeat(Math.max(0, fill - 1)) + (fill ? '>' : '') + ' '.repeat(width - fill)
        const eta = rate > 0 ? (e.total - e.sent) / rate : Infinity
        stream.write(`\x1b[2K\r  [${bar}] ${String(pct).padStart(3)}% ${fmtBytes(e.sent)}/${fmtBytes(e.total)} ${fmtBytes(rate)}/s ETA ${fmtDuration(eta)}`)
        break
      }
      case 'rollback':
        if (tty) stream.write('\x1b[2K\r')
        for (const r of e.removed) stream.write(`  removed ${r}\n`)
        for (const k of e.kept) stream.write(`  left in place: ${k}\n`)
        break
      case 'warning':
        if (tty) stream.write('\x1b[2K\r')
        stream.write(`warning: ${e.message}\n`)
        break
      case 'upload-retry':
      case 'upload-resume':
      case 'upload-restart':
        if (tty) stream.write('\x1b[2K\r')
        stream.write(`  ${uploadNotice(e)}\n`)
        break
    }
  }
}

function uploadNotice(e: Extract<ProvisionEvent, { type: 'upload-retry' | 'upload-resume' | 'upload-restart' }>): string {
  if (e.type === 'upload-retry') return `segment ${e.segment}/${e.segments}: attempt ${e.attempt} failed (${e.error}); retrying, ${e.retries_left} retries left`
  if (e.type === 'upload-resume') return `resuming: the VDI already holds the image's first ${fmtBytes(e.offset)} of ${fmtBytes(e.image_size)}`
  return `starting the upload over: ${e.reason}`
}

/**
 * A compressed image being decompressed to its spool (src/disk/spool.ts): minutes for a
 * big .xz, so it gets a line that moves, like the upload: compressed bytes read, the
 * disk bytes they expanded to. Plain lines every 25% when stderr is not a terminal.
 */
export function spoolRenderer(stream: NodeJS.WriteStream): (file: string, p: SpoolProgress) => void {
  const tty = Boolean(stream.isTTY)
  let lastDraw = 0
  let lastPct = -1
  return (file, p) => {
    const pct = p.total ? Math.floor((p.read / p.total) * 100) : 100
    const done = p.read >= p.total
    const line = `decompressing ${file}: ${pct}% (${fmtBytes(p.read)} of ${fmtBytes(p.total)} read, ${fmtBytes(p.written)} of disk)`
    if (!tty) {
      if (pct >= lastPct + 25 || (done && pct !== lastPct)) {
        lastPct = pct
        stream.write(`  ${line}\n`)
      }
      return
    }
    const now = Date.now()
    if (now - lastDraw < 100 && !done) return
    lastDraw = now
    stream.write(`\x1b[2K\r  ${line}${done ? '\n' : ''}`)
  }
}
