import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { MiB, pattern, writeSparse } from '../upload/helpers.js'

export const SIZE = 40 * MiB

/**
 * A raw disk with data at unaligned places, a run that crosses a 16 MiB window and an
 * all-zero written block, built in code; then each published layout made from it by
 * the real qemu-img (and xz, gzip).
 */
export async function rawFixture(dir: string): Promise<string> {
  const raw = join(dir, 'disk.raw')
  await writeSparse(raw, SIZE, [
    { offset: 0, data: pattern(4096, 1) },
    { offset: 3 * MiB + 777, data: pattern(300 * 1024, 2) },
    { offset: 16 * MiB - 100 * 1024, data: pattern(700 * 1024, 3) },
    { offset: 20 * MiB, data: Buffer.alloc(256 * 1024) },
    { offset: SIZE - 5000, data: pattern(5000, 4) },
  ])
  return raw
}

export const LAYOUTS = {
  'qcow2 v2': ['-O', 'qcow2', '-o', 'compat=0.10'],
  'qcow2 v3': ['-O', 'qcow2', '-o', 'compat=1.1'],
  'qcow2 v3, compressed clusters': ['-c', '-O', 'qcow2'],
  'qcow2 v3, 512-byte clusters': ['-O', 'qcow2', '-o', 'cluster_size=512'],
  'VHD fixed': ['-O', 'vpc', '-o', 'subformat=fixed'],
  'VHD dynamic': ['-O', 'vpc', '-o', 'subformat=dynamic'],
  'VHD dynamic, current_size': ['-O', 'vpc', '-o', 'subformat=dynamic,force_size=on'],
  'VMDK monolithicSparse': ['-O', 'vmdk', '-o', 'subformat=monolithicSparse'],
  'VMDK streamOptimized': ['-O', 'vmdk', '-o', 'subformat=streamOptimized'],
} as const

export function convert(raw: string, args: readonly string[], out: string): string {
  execFileSync('qemu-img', ['convert', '-f', 'raw', ...args, raw, out])
  return out
}

/** What qemu reads in the image: the oracle every reader is held to. */
export function qemuRaw(image: string, out: string): Buffer {
  execFileSync('qemu-img', ['convert', '-O', 'raw', image, out])
  return readFileSync(out)
}

export function compress(file: string, tool: 'xz' | 'gzip'): string {
  execFileSync(tool, ['-k', '-f', '-1', file])
  return `${file}.${tool === 'xz' ? 'xz' : 'gz'}`
}
