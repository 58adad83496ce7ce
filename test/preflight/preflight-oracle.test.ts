import { afterAll, beforeAll, expect, it } from 'vitest'
import { preflightFile } from '../../src/preflight/preflight.js'
import type { PreflightReport } from '../../src/preflight/report.js'
import { realPygrub } from '../image/helpers/pygrub-run.js'
import { tempDir } from '../image/helpers/tools.js'
import { needs } from '../support/oracles.js'
import { buildCorpus, KERNEL, type CorpusImage } from './helpers/corpus.js'

const PV = { bootloader_args: '--kernel=/boot/kernel/kernel', args: 'vfs.root.mountfrom=ufs:/dev/xbd0s1a' }

/** name, upstream boots, xcp-ng boots, the problem codes (upstream first, then xcp-ng), an offset fix proposed. */
const EXPECTED: [string, boolean, boolean, string[], boolean][] = [
  ['sample-a0', true, true, [], false],
  ['sample-a16', false, false, ['a-offset'], true],
  ['makefs-ufs1-a0', true, true, [], false],
  ['makefs-ufs1-a16', false, false, ['a-offset'], true],
  ['makefs-ufs2-a0', false, false, ['ufs2'], false],
  ['makefs-nokernel', false, false, ['kernel-missing'], false],
  ['gpt-ufs1', true, false, ['xcp-ng-first-offset'], true],
  ['garbage', false, false, ['no-filesystem'], false],
]

needs('makefs', 'sfdisk').describe('preflight verdicts on a corpus built with makefs, sfdisk and the sample writer', () => {
  const tmp = tempDir('preflight-oracle-')
  let corpus: Map<string, CorpusImage>
  const reports = new Map<string, PreflightReport>()
  beforeAll(async () => {
    corpus = await buildCorpus(tmp.dir)
    for (const [name, c] of corpus) reports.set(name, preflightFile(c.path, PV))
  })
  afterAll(tmp.cleanup)
  const report = (name: string): PreflightReport => {
    const r = reports.get(name)
    if (r === undefined) throw new Error(`no report for ${name}`)
    return r
  }

  it.each(EXPECTED)('%s: upstream boots %s, xcp-ng boots %s, problems %j, offset fix %s', (name, up, xcp, codes, fix) => {
    const r = report(name)
    expect(r.verdicts.upstream.boots).toBe(up)
    expect(r.verdicts['xcp-ng'].boots).toBe(xcp)
    const found = [...new Set([...r.verdicts.upstream.problems, ...r.verdicts['xcp-ng'].problems].map((p) => p.code))]
    expect(found).toEqual(codes)
    expect(r.offset_fix?.offset ?? null).toBe(fix ? corpus.get(name)?.root : null)
    expect(r.warnings.filter((w) => w.code === 'analysis-error')).toEqual([])
  })

  it('says why in the words of the issue', () => {
    expect(report('sample-a16').verdicts.upstream.problems[0]?.message).toBe('partition a starts 16 sectors into the slice; pygrub reads only the slice start (byte 32256)')
    expect(report('makefs-ufs2-a0').verdicts.upstream.problems[0]?.message).toMatch(/^UFS2 in slice 1, partition a: pygrub reads UFS1 only; rebuild the root with newfs -O1$/)
    expect(report('makefs-nokernel').verdicts.upstream.problems[0]?.message).toBe('no /boot/kernel/kernel in slice 1, partition a')
    expect(report('makefs-ufs2-a0').root).toMatchObject({ fs: 'UFS2', superblock_at: 8192, kernel: 'present' })
    expect(report('sample-a16').labels[0]?.partitions[0]).toMatchObject({ letter: 'a', start_in_slice: 16, start: 40448 })
  })

  needs('pygrub').it('predicts real pygrub (Debian xen-utils-4.17) on every image: same verdict, message and kernel size', async () => {
    const real = await Promise.all([...corpus.values()].map(async (c) => ({ c, real: await realPygrub(c.path, tmp.dir, ['--kernel=/boot/kernel/kernel']) })))
    for (const { c, real: r } of real) {
      const predicted = report(c.name).verdicts.upstream.pygrub
      expect(predicted.ok, `${c.name}: real pygrub ${r.ok ? 'booted' : r.message}`).toBe(r.ok)
      if (r.ok) expect(predicted.kernel_bytes, c.name).toBe(r.kernel.length)
      else expect(predicted.message, c.name).toBe(r.message)
    }
  })

  needs('pygrub').it('the proposed PV-bootloader-args make real pygrub boot, extracting the kernel byte for byte', async () => {
    for (const name of ['sample-a16', 'makefs-ufs1-a16', 'gpt-ufs1']) {
      const fix = report(name).offset_fix
      const c = corpus.get(name)
      if (fix === null || c === undefined) throw new Error(`${name}: no fix proposed`)
      const r = await realPygrub(c.path, tmp.dir, fix.bootloader_args.split(' '))
      expect(r.ok ? 'booted' : r.message, name).toBe('booted')
      if (r.ok && name !== 'sample-a16') expect(r.kernel.equals(KERNEL), name).toBe(true)
      const again = preflightFile(c.path, { ...PV, bootloader_args: fix.bootloader_args })
      expect([again.verdicts.upstream.boots, again.verdicts['xcp-ng'].boots, again.offset_fix], name).toEqual([true, true, null])
    }
  })
})
