import { closeSync, openSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { openDisk } from '../../src/disk/open-disk.js'
import { DiskFormatError } from '../../src/disk/virtual-disk.js'
import { compareVersions } from '../../src/provision/capabilities.js'
import { XapiFault } from '../fault.js'
import type { Profile } from '../profiles.js'
import type { SparseDisk } from '../sparse-disk.js'
import { qcowStreamProblem, vhdStreamProblem } from './import-formats-order.js'

export type ImportFormat = 'raw' | 'vhd' | 'tar' | 'qcow2'

/**
 * The `format=` values this simulated xapi parses (importexport.ml Format.of_string,
 * case-insensitive); null when it predates the parameter and writes every body as raw
 * (format= came with xapi commit 99abc50518, 2013-11, XenServer 6.5 / API 2.3; qcow2
 * with d5d9999bba, first in v25.27.0).
 */
export function knownFormats(profile: Profile): ImportFormat[] | null {
  const { major, minor } = profile.api
  if (major < 2 || (major === 2 && minor < 3)) return null
  const xapi = profile.software_version.xapi_build ?? profile.software_version.xapi ?? '0'
  return compareVersions(xapi, '25.27.0') >= 0 ? ['raw', 'vhd', 'tar', 'qcow2'] : ['raw', 'vhd', 'tar']
}

/** What xapi reports when the tool fails: vhd-tool's exit as "Device I/O errors", qcow-stream-tool's with its log. */
function toolFailure(format: 'vhd' | 'qcow2', why: string): XapiFault {
  return new XapiFault('VDI_IO_ERROR', [format === 'vhd' ? 'Device I/O errors' : `qcow-stream-tool: internal error, uncaught exception:\n ${why}`])
}

let serial = 0

/**
 * A vhd or qcow2 body on its way into a VDI. xapi pipes the socket into vhd-tool or
 * qcow-stream-tool, which write the disk as they read; the simulator keeps the body in
 * a temporary file next to its disks, then reads it with src/disk (the readers the
 * client uses) and applies the tool's own stream-order rules (import-formats-order.ts).
 * Memory stays bounded: the body goes to disk as it arrives, the copy goes 1 MiB at a time.
 */
export class ContainerImport {
  private readonly path: string
  private readonly fd: number
  private received = 0
  private open = true

  constructor(
    private readonly format: 'vhd' | 'qcow2',
    dir: string,
  ) {
    this.path = join(dir, `import-${process.pid}-${++serial}.${format}`)
    this.fd = openSync(this.path, 'w+', 0o600)
  }

  push(chunk: Buffer): void {
    writeSync(this.fd, chunk, 0, chunk.length, this.received)
    this.received += chunk.length
  }

  /** Decodes into `disk`; a fault when the tool would have failed. Always removes the temporary file. */
  finish(disk: SparseDisk): XapiFault | undefined {
    this.close()
    try {
      return this.decode(disk)
    } finally {
      this.discard()
    }
  }

  discard(): void {
    this.close()
    rmSync(this.path, { force: true })
  }

  /** Once only: a second close could hit a descriptor number the process has reused. */
  private close(): void {
    if (this.open) closeSync(this.fd)
    this.open = false
  }

  private decode(target: SparseDisk): XapiFault | undefined {
    let image
    try {
      image = openDisk(this.path)
    } catch (e) {
      if (e instanceof DiskFormatError) return toolFailure(this.format, e.problem)
      throw e
    }
    try {
      if (image.format !== this.format) return toolFailure(this.format, `the body is ${image.format}, not ${this.format}`)
      const problem = this.format === 'vhd' ? vhdStreamProblem(this.path) : qcowStreamProblem(this.path, image)
      if (problem) return toolFailure(this.format, problem)
      const step = 1024 * 1024
      for (const e of image.allocated()) {
        // The tools write into the block device: past its end the write fails.
        if (e.offset + e.length > target.size) return toolFailure(this.format, `write at ${e.offset + e.length} past the end of the VDI (${target.size} bytes)`)
        for (let at = e.offset; at < e.offset + e.length; at += step) target.write(at, image.readAt(at, Math.min(step, e.offset + e.length - at)))
      }
      return undefined
    } catch (e) {
      if (e instanceof DiskFormatError) return toolFailure(this.format, e.problem)
      throw e
    } finally {
      image.close()
    }
  }
}
