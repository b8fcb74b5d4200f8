// Bundle the CLI with one chunk per command, so `xp --help` loads only yargs.
//
//   node scripts/build.mjs               -> dist/ (what `npm ci`, `npm pack` and bin/xp.js use)
//   node scripts/build.mjs --outdir DIR  -> DIR (the tests' own build: test/global-setup.ts)
//
// The bundle is self-contained: every dependency is inside it (the AWS SDK and hash-wasm
// in chunks loaded on first use, yaml as yaml.cjs loaded on first use), so the npm package
// has no runtime dependencies and the folder runs anywhere, without node_modules.
// The build goes to a new folder that then replaces the old one whole, so a process
// running the old bundle never sees half of a new one.
import { build } from 'esbuild'
import { execFileSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
/** Files the build keeps when it replaces a folder (made by other scripts). */
const KEEP = ['xp-linux-x64']

/**
 * What the bundle is built from: the sources, this script, package.json and the lock file.
 * The same id means the same bundle, so the tests can copy a fresh dist/ instead of
 * building again (test/global-setup.ts).
 */
export function inputsId() {
  const h = crypto.createHash('sha256')
  const files = ['scripts/build.mjs', 'package.json', 'package-lock.json']
  for (const e of fs.readdirSync(path.join(ROOT, 'src'), { recursive: true, withFileTypes: true })) {
    if (e.isFile()) files.push(path.relative(ROOT, path.join(e.parentPath ?? e.path, e.name)))
  }
  for (const f of files.sort()) {
    h.update(f + '\0')
    h.update(fs.existsSync(path.join(ROOT, f)) ? fs.readFileSync(path.join(ROOT, f)) : '')
    h.update('\0')
  }
  return h.digest('hex').slice(0, 32)
}

export function packageVersion() {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version
}

/** Replace `createRequire(import.meta.url)('yaml')` in src/core/yaml.ts with another load. */
export function yamlLoadPlugin(replacement) {
  return {
    name: 'xp-yaml-load',
    setup(b) {
      b.onLoad({ filter: /[\\/]src[\\/]core[\\/]yaml\.ts$/ }, (args) => {
        const text = fs.readFileSync(args.path, 'utf8')
        const call = "createRequire(import.meta.url)('yaml')"
        if (!text.includes(call)) throw new Error(`${args.path} no longer loads yaml with ${call}: update scripts/build.mjs`)
        return { contents: text.replace(call, replacement), loader: 'ts' }
      })
    },
  }
}

/** The page of `xp ui`: OUT/ui/app.js + app.css, served by the server (no CDN, no network). */
export async function buildUi(outdir) {
  await build({
    entryPoints: [
      { in: path.join(ROOT, 'src/ui/app/main.ts'), out: 'app' },
      { in: path.join(ROOT, 'src/ui/app/style.css'), out: 'app' },
    ],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    outdir: path.join(outdir, 'ui'),
    minify: true,
    logLevel: 'warning',
  })
}

export async function buildAll(outdir) {
  outdir = path.resolve(outdir)
  const tmp = `${outdir}.new-${process.pid}`
  fs.rmSync(tmp, { recursive: true, force: true })
  await build({
    // main.js: the CLI's main() for in-process callers (the tests' worker); bin.js imports it too
    entryPoints: { bin: path.join(ROOT, 'src/cli/bin.ts'), main: path.join(ROOT, 'src/cli/index.ts') },
    bundle: true,
    splitting: true,
    format: 'esm',
    supported: { 'top-level-await': true },
    platform: 'node',
    target: 'node20',
    outdir: tmp,
    sourcemap: 'linked',
    // less to parse at every start; identifiers are kept so stack traces stay readable
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
    banner: { js: "import { createRequire as __xpCreateRequire } from 'node:module'; const require = __xpCreateRequire(import.meta.url);" },
    // test-only packages; nothing in src/ imports them
    external: ['playwright-core', 's3rver'],
    define: { __XP_VERSION__: JSON.stringify(packageVersion()) },
    plugins: [yamlLoadPlugin("createRequire(import.meta.url)('./yaml.cjs')")],
  })
  // yaml (170 KB) is loaded by a synchronous require on first use, from beside the chunks
  await build({
    entryPoints: [createRequire(import.meta.url).resolve('yaml')],
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    outfile: path.join(tmp, 'yaml.cjs'),
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
  })
  await buildUi(tmp)

  // Save the top-level help as yargs renders it, so `xp --help` need not load yargs.
  const help = execFileSync(process.execPath, [path.join(tmp, 'bin.js'), '--help', '--no-saved-help'], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  })
  fs.writeFileSync(path.join(tmp, 'help.txt'), help)
  fs.writeFileSync(path.join(tmp, 'build-id'), inputsId() + '\n')

  // swap the new folder in whole
  const old = `${outdir}.old-${process.pid}`
  if (fs.existsSync(outdir)) {
    for (const k of KEEP) if (fs.existsSync(path.join(outdir, k))) fs.renameSync(path.join(outdir, k), path.join(tmp, k))
    fs.renameSync(outdir, old)
  }
  fs.renameSync(tmp, outdir)
  fs.rmSync(old, { recursive: true, force: true })
  return outdir
}

/**
 * Put a bundle of the current sources in `outdir`: a copy of `reuse` when that was built
 * from the same inputs (dist/ just built by `npm ci`'s prepare), else a new build.
 */
export async function buildOrCopy(outdir, reuse) {
  const id = inputsId()
  let built = ''
  try {
    built = fs.readFileSync(path.join(reuse, 'build-id'), 'utf8').trim()
  } catch {
    // nothing to reuse
  }
  if (built !== id) return { outdir: await buildAll(outdir), reused: false }
  const tmp = `${path.resolve(outdir)}.new-${process.pid}`
  fs.cpSync(reuse, tmp, { recursive: true, filter: (src) => !KEEP.includes(path.basename(src)) })
  fs.rmSync(outdir, { recursive: true, force: true })
  fs.renameSync(tmp, outdir)
  return { outdir, reused: true }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name) => {
    const i = process.argv.indexOf(name)
    return i > 0 ? process.argv[i + 1] : undefined
  }
  const outdir = arg('--outdir') ?? path.join(ROOT, 'dist')
  if (arg('--reuse')) await buildOrCopy(outdir, path.resolve(ROOT, arg('--reuse')))
  else await buildAll(outdir)
}
