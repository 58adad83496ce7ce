// The CLI as one file and its V8 code cache (npm run build, after tsc): Node 20 resolves,
// reads and compiles each of the ~900 modules of zod, got, xen-api and their dependencies
// one by one, and parses the whole again on every run; that was most of a run's start-up
// (docs/design.md, "Start-up"). Input is tsc's output in dist/, so the bundle runs the same
// JavaScript the package exports. bin/provision.js runs it (bin/bundle-loader.js).
//
// Each command's modules stay lazy: main.ts's import() calls become functions that run a
// module's top level on first use, so --version runs little more than main.js.
import { build } from 'esbuild'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadBundle } from '../bin/bundle-loader.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outdir = join(root, 'dist', 'cli')
const outfile = join(outdir, 'provision.cjs')
const main = join(root, 'dist', 'src', 'cli', 'main.js')

/**
 * xen-api imports proxy-agent (quickjs, esprima, ftp, socks: a third of the bundle) for its
 * `httpProxy` option, which xcp-provision never passes. Should that change, the constructor
 * says so instead of failing obscurely.
 */
const withoutProxyAgent = {
  name: 'without-proxy-agent',
  setup(b) {
    b.onResolve({ filter: /^proxy-agent$/ }, () => ({ path: 'proxy-agent', namespace: 'without-proxy-agent' }))
    b.onLoad({ filter: /.*/, namespace: 'without-proxy-agent' }, () => ({
      contents: `export class ProxyAgent { constructor() { throw new Error('the xcp-provision CLI bundle has no proxy support (scripts/bundle-cli.mjs leaves proxy-agent out); xen-api was given httpProxy') } }`,
      loader: 'js',
    }))
  },
}

/**
 * got imports http2-wrapper at its top level, whose own top level builds an HTTP/2 agent
 * (~40 ms of CPU on every run that transfers anything), but reads it only for a request
 * with `http2: true`, which xcp-provision never makes. The bundle loads the real module
 * on the first read of any of its exports instead: same behaviour, paid only when used.
 */
const lazyHttp2Wrapper = {
  name: 'lazy-http2-wrapper',
  setup(b) {
    // The lazy module's own require() resolves normally (to the real package).
    b.onResolve({ filter: /^http2-wrapper$/ }, (args) => (args.namespace === 'lazy-http2-wrapper' ? undefined : { path: 'http2-wrapper', namespace: 'lazy-http2-wrapper' }))
    const names = ['Agent', 'ClientRequest', 'IncomingMessage', 'auto', 'get', 'globalAgent', 'proxies', 'request', 'validateHeaderName', 'validateHeaderValue']
    b.onLoad({ filter: /.*/, namespace: 'lazy-http2-wrapper' }, () => ({
      contents: `let real; const load = () => (real ??= require('http2-wrapper')); module.exports = {${names.map((n) => `get ${n}() { return load().${n} }`).join(', ')}}`,
      loader: 'js',
      resolveDir: root,
    }))
  },
}

const bundle = (entry, metafile) =>
  build({
    write: false,
    stdin: { contents: entry, resolveDir: root, sourcefile: 'cli-entry.js', loader: 'js' },
    outfile,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // packageRoot() finds the package by walking up from its module's URL: the bundle's own.
    define: { 'import.meta.url': '__xcpModuleUrl' },
    banner: { js: "var __xcpModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
    plugins: [withoutProxyAgent, lazyHttp2Wrapper],
    metafile,
    // No comments or indentation: a quarter less to read per run, and no non-ASCII left
    // (esbuild escapes it in code), so bundle-loader.js can read the file as Latin-1, 3x faster.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    charset: 'ascii',
    absWorkingDir: root,
    logLevel: 'warning',
  })

const spec = (file) => `./${relative(root, file)}`
// Written beside, then renamed: a CLI started meanwhile sees the old file or the new one,
// never half of one.
async function writeAtomically(path, contents) {
  await writeFile(`${path}.${process.pid}.tmp`, contents)
  await rename(`${path}.${process.pid}.tmp`, path)
}

await mkdir(outdir, { recursive: true })
// First pass: which modules the CLI loads on demand (every import() in the bundled code).
const first = await bundle(`export { main } from ${JSON.stringify(spec(main))}`, true)
// In the bundle every module's import.meta.url is the bundle's own: only packageRoot(),
// which walks up to package.json, may rely on it. Anything else would find the wrong file.
for (const path of Object.keys(first.metafile.inputs)) {
  if (!path.startsWith('dist/') || path === 'dist/src/paths.js') continue
  if ((await readFile(join(root, path), 'utf8')).includes('import.meta.url')) {
    throw new Error(`${path} uses import.meta.url, which in dist/cli/provision.cjs is the bundle's URL: locate files with packageRoot() (src/paths.ts)`)
  }
}
const lazy = new Set()
for (const input of Object.values(first.metafile.inputs)) {
  for (const i of input.imports) if (i.kind === 'dynamic-import' && !i.external) lazy.add(join(root, i.path))
}
// Second pass: the same bundle, plus warm(), which runs those modules' top levels (nothing
// else) so the code cache holds their compiled code too.
const warmers = [...lazy].sort().map((f) => `import(${JSON.stringify(spec(f))})`)
const second = await bundle(`export { main } from ${JSON.stringify(spec(main))}\nexport const warm = () => Promise.all([${warmers.join(', ')}])`, false)
const code = second.outputFiles[0].contents
if (code.some((b) => b > 0x7f)) throw new Error(`${outfile} is not ASCII: bin/bundle-loader.js reads it as Latin-1`)
// The old cache goes first: V8 checks a cache against its source's length only, and
// bin/provision.js uses a cache only when it is newer than the bundle.
await rm(`${outfile}.cache`, { force: true })
await writeAtomically(outfile, code)
const { exports, script } = loadBundle(outfile)
await exports.warm()
await writeAtomically(`${outfile}.cache`, script.createCachedData())
console.log(`${relative(root, outfile)}: the CLI and its code cache (${lazy.size} modules loaded on demand)`)
// A module's top level may leave a handle open; the build is done.
process.exit(0)
