// The CLI as a few files instead of ~900 modules (npm run build, after tsc): Node 20
// resolves, reads and compiles each module of zod, got, xen-api and their dependencies
// one by one, which was most of a run's start-up (docs/design.md, "Start-up").
// Input is tsc's output in dist/, so the bundle runs the same JavaScript the package exports.
//
// Each command stays a lazily loaded chunk (--splitting), so --version loads only main.js.
import { build } from 'esbuild'
import { rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outdir = join(root, 'dist', 'cli')

/**
 * xen-api imports proxy-agent (quickjs, esprima, ftp, socks: half the bundle's bytes) for
 * its `httpProxy` option, which xcp-provision never passes. Should that change, the
 * constructor says so instead of failing obscurely.
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
 * map-window.js sends its functions to worker threads as source text, where `require` must
 * stay `require` (a bundler renames it). It stays tsc's module, imported from beside the bundle.
 */
const mapWindowAsIs = {
  name: 'map-window-as-is',
  setup(b) {
    b.onResolve({ filter: /\/map-window\.js$/ }, () => ({ path: '../src/upload/map-window.js', external: true }))
  },
}

await rm(outdir, { recursive: true, force: true })
await build({
  entryPoints: [join(root, 'dist', 'src', 'cli', 'main.js')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Flat: every chunk sits in dist/cli/, so "../src/upload/map-window.js" holds for all.
  chunkNames: '[name]-[hash]',
  // Bundled CommonJS packages call require() for Node's built-ins; ESM has none of its own.
  banner: { js: "import { createRequire as __xcpCreateRequire } from 'node:module'; const require = __xcpCreateRequire(import.meta.url);" },
  plugins: [withoutProxyAgent, mapWindowAsIs],
  logLevel: 'warning',
})
