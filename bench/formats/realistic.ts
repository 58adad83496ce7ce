import { execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, lstatSync, openSync, readSync, readdirSync, writeSync, ftruncateSync } from 'node:fs'
import { join } from 'node:path'
import { placements } from '../upload/images.js'
import { writeXz } from './xz-fast.js'

const MiB = 1024 * 1024
const GiB = 1024 * MiB
/** Distinct 1 MiB pieces of real files; the image's 1024 pieces cycle through them (the decoder's work per piece is the same: each is its own xz stream). */
const DISTINCT = 64

/** `xz -6` of one piece, in a child process (two run at once). */
function xz(input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('xz', ['-6', '-T1', '-c'], { stdio: ['pipe', 'pipe', 'inherit'] })
    const out: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.once('error', reject)
    child.once('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`xz -6 exited ${code}`))))
    child.stdin.end(input)
  })
}

/**
 * DISTINCT MiB of bytes of real files, as an OS image holds them: the first 256 KiB of
 * files spread evenly over /usr/lib and /usr/share (shared libraries, Python modules,
 * locale data, documentation), in a fixed order. `xz -6` makes them ~4x smaller, where
 * published images are 2 to 4x (FreeBSD's raw.xz).
 */
function corpus(): Buffer {
  const files: string[] = []
  const walk = (dir: string): void => {
    let names: string[]
    try {
      names = readdirSync(dir).sort()
    } catch {
      return
    }
    for (const n of names) {
      const p = join(dir, n)
      const s = lstatSync(p, { throwIfNoEntry: false })
      if (s?.isDirectory()) walk(p)
      else if (s?.isFile() && s.size >= 4096) files.push(p)
    }
  }
  walk('/usr/lib')
  walk('/usr/share')
  const out = Buffer.alloc(DISTINCT * MiB)
  let at = 0
  const stride = Math.max(1, Math.floor(files.length / 600))
  for (let i = 0; at < out.length; i = (i + stride) % files.length) {
    const fd = openSync(files[i]!, 'r')
    at += readSync(fd, out, at, Math.min(256 * 1024, out.length - at), 0)
    closeSync(fd)
  }
  return out
}

/**
 * The bench's 16 GiB disk (bench/upload/images.ts: 1024 pieces of 1 MiB, one per 16 MiB
 * stripe) with OS-like data instead of random bytes, as `disk-os.raw`, and its
 * `.raw.xz`: zero runs as in xz-fast.ts, each data piece a real `xz -6` stream (the
 * DISTINCT pieces compressed once, two at a time). ~30 s on two loaded cores.
 */
export async function writeRealisticRawXz(dir: string): Promise<string> {
  const data = corpus()
  const pieces = Array.from({ length: DISTINCT }, (_, i) => data.subarray(i * MiB, (i + 1) * MiB))
  const key = (b: Buffer): string => createHash('sha1').update(b).digest('hex')
  const streams = new Map<string, Buffer>()
  for (let i = 0; i < DISTINCT; i += 2) await Promise.all([i, i + 1].map(async (k) => streams.set(key(pieces[k]!), await xz(pieces[k]!))))
  const raw = join(dir, 'disk-os.raw')
  const fd = openSync(raw, 'w')
  try {
    ftruncateSync(fd, 16 * GiB)
    let i = 0
    for (const offset of placements(1024, 16 * MiB, MiB)) writeSync(fd, pieces[i++ % DISTINCT]!, 0, MiB, offset)
  } finally {
    closeSync(fd)
  }
  writeXz(raw, (piece) => streams.get(key(piece)) ?? execFileSync('xz', ['-6', '-T1', '-c'], { input: piece, maxBuffer: 4 * MiB }))
  return raw
}

/**
 * `disk-os.qcow2.xz`: the OS-like disk made qcow2 by qemu-img, then compressed by the
 * real `xz -1 -T0` whole (its data is not in 1 MiB pieces at known places, so the pieces'
 * streams above do not apply; -1 rather than the default -6 keeps it to ~1 minute on two
 * loaded cores). -T0 writes blocks with their sizes, which `xz -dc -T0` decodes on both
 * cores: the bench's yardstick and provision alike.
 */
export function writeRealisticQcow2Xz(raw: string): string {
  const qcow2 = raw.replace(/\.raw$/, '.qcow2')
  execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2])
  execFileSync('xz', ['-1', '-T0', '-f', qcow2])
  return `${qcow2}.xz`
}
