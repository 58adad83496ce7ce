import type { ProvisionEvent } from '../provision/types.js'
import { watchSpools, type SpoolProgress } from '../disk/spool.js'
import { bytes, duration } from './units.js'

function fmtEta(s: number): string {
  if (!Number.isFinite(s)) return '--:--'
  const m = Math.floor(s / 60)
  return `${m}:${String(Math.round(s % 60)).padStart(2, '0')}`
}

const BAR_WIDTH = 30

/** `[=====>      ]` for a percentage. */
function bar(pct: number): string {
  const fill = Math.round((pct / 100) * BAR_WIDTH)
  return `[${'='.repeat(Math.max(0, fill - 1)) + (fill ? '>' : '') + ' '.repeat(BAR_WIDTH - fill)}]`
}

/**
 * One moving line for a long phase (the upload, --verify's read-back): redrawn at most
 * every 100 ms on a terminal, one plain line per 25% otherwise (enough to see it move
 * in a log without flooding it). The step's ✓ line replaces the bar when it ends.
 */
function phaseLine(stream: NodeJS.WriteStream, tty: boolean): (pct: number, finished: boolean, barText: () => string, plainText: () => string) => void {
  let lastDraw = 0
  let lastPlainPct = -1
  return (pct, finished, barText, plainText) => {
    if (!tty) {
      if (pct >= lastPlainPct + 25 || (finished && pct !== lastPlainPct)) {
        lastPlainPct = pct
        stream.write(`  ${plainText()}\n`)
      }
      return
    }
    const now = Date.now()
    if (now - lastDraw < 100 && !finished) return
    lastDraw = now
    stream.write(`\x1b[2K\r  ${barText()}`)
  }
}

let unwatchSpools: () => void = () => undefined

/**
 * Renders provision events on stderr: a bar with bytes, rate and ETA during the upload
 * on a terminal, plain lines otherwise (logs, CI). Returns the event handler.
 */
export function progressRenderer(stream: NodeJS.WriteStream, quiet = false): (e: ProvisionEvent) => void {
  const tty = Boolean(stream.isTTY)
  // One renderer draws at a time: a new one (the next in-process run) replaces the last one's spool watcher instead of adding to it.
  unwatchSpools()
  if (!quiet) unwatchSpools = watchSpools(spoolRenderer(stream))
  let uploadStart = 0
  const uploadLine = phaseLine(stream, tty)
  const verifyLine = phaseLine(stream, tty)
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
        if (tty) stream.write(`\x1b[2K\r✓ ${titles.get(e.step) ?? e.step} (${duration(e.ms)})\n`)
        else stream.write(`  done (${duration(e.ms)})\n`)
        break
      case 'upload': {
        const pct = e.total ? Math.floor((e.sent / e.total) * 100) : 100
        uploadLine(
          pct,
          e.sent >= e.total,
          () => {
            const secs = Math.max((Date.now() - uploadStart) / 1000, 0.001)
            const rate = e.sent / secs
            const eta = rate > 0 ? (e.total - e.sent) / rate : Infinity
            return `${bar(pct)} ${String(pct).padStart(3)}% ${bytes(e.sent)}/${bytes(e.total)} ${bytes(rate)}/s ETA ${fmtEta(eta)}`
          },
          () => `upload ${pct}% (${bytes(e.sent)} of ${bytes(e.total)})`,
        )
        break
      }
      case 'verify': {
        // By bytes read, which move within a segment; the count says how many segments matched.
        const pct = e.total ? Math.floor((e.read / e.total) * 100) : 100
        verifyLine(
          pct,
          e.checked >= e.segments,
          () => `verify ${bar(pct)} ${String(pct).padStart(3)}% ${e.checked}/${e.segments} segments, ${bytes(e.read)}/${bytes(e.total)} read`,
          () => `verify ${pct}% (${e.checked}/${e.segments} segments)`,
        )
        break
      }
      case 'rollback':
        // The error that follows lists what was removed and kept (printError): listed here too, each would show twice.
        if (tty) stream.write('\x1b[2K\r')
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
  if (e.type === 'upload-resume') return `resuming: the VDI already holds the image's first ${bytes(e.offset)} of ${bytes(e.image_size)}`
  return `starting the upload over: ${e.reason}`
}

/**
 * A compressed image being decompressed to its spool (src/disk/spool.ts): minutes for a
 * big .xz, so it gets a line that moves, like the upload: compressed bytes read, the
 * disk bytes they expanded to. Plain lines every 25% when stderr is not a terminal.
 */
export function spoolRenderer(stream: NodeJS.WritableStream & { isTTY?: boolean }): (file: string, p: SpoolProgress) => void {
  const tty = Boolean(stream.isTTY)
  let lastDraw = 0
  let lastPct = -1
  return (file, p) => {
    const pct = p.total ? Math.floor((p.read / p.total) * 100) : 100
    const done = p.read >= p.total
    const line = `decompressing ${file}: ${pct}% (${bytes(p.read)} of ${bytes(p.total)} read, ${bytes(p.written)} of disk)`
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
