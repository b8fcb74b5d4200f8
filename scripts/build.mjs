// Bundle the CLI as one CommonJS file, started from V8's code cache.
//
//   node scripts/build.mjs               -> dist/ (what `npm pack` and bin/xp.cjs use)
//   node scripts/build.mjs --outdir DIR  -> DIR (the tests' own build: test/global-setup.ts)
//
// DIR/xp.cjs is the whole CLI (exports `launch` and `main`); DIR/bin.cjs, its launcher,
// compiles it from DIR/xp.<build>-<v8>-<arch>.cache, which this build makes by running a
// short journey through the everyday commands in one process (scripts/train-code-cache.cjs)
// and saving the code V8 compiled for it (src/cli/launch.ts says why and how).
// The bundle is self-contained: every dependency is inside it (the AWS SDK, hash-wasm and
// yaml too: code that is never called is never compiled), so the npm package has no
// runtime dependencies and the folder runs anywhere, without node_modules.
// The build goes to a new folder that then replaces the old one whole, so a process
// running the old bundle never sees half of a new one.
import { build } from 'esbuild'
import { execFileSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
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
  const files = ['scripts/build.mjs', 'scripts/train-code-cache.cjs', 'package.json', 'package-lock.json']
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

/**
 * esbuild's options for the whole CLI as one CommonJS script (dist/xp.cjs here, the single
 * executable's script in build-binary.mjs): every lazily loaded part is inlined, and
 * `import.meta.url` is the URL of the file the script is in (`metaUrl` overrides).
 */
/**
 * string-width (yargs' and cliui's copies) makes an `Intl.Segmenter` when it is loaded:
 * 16 ms of ICU data each, 32 ms of every command that parses its arguments with yargs
 * (yargs lays out its help at every parse). Here the segmenter is made on first use, and
 * the 7.x copies get 8.x's own fast path (printable ASCII is as wide as it is long), so a
 * command whose help is plain ASCII never makes one. Fails the build if the text changed.
 */
function stringWidthPlugin() {
  return {
    name: 'xp-string-width',
    setup(b) {
      b.onLoad({ filter: /[\\/]string-width[\\/]index\.js$/ }, (args) => {
        let text = fs.readFileSync(args.path, 'utf8')
        const make = 'const segmenter = new Intl.Segmenter();'
        if (!text.includes(make) || text.split('segmenter.segment(').length < 2)
          throw new Error(`${args.path} no longer makes its segmenter as scripts/build.mjs expects: update stringWidthPlugin`)
        text = text.replace(make, 'let segmenterMade;\nconst segmenter = { segment: (s) => (segmenterMade ??= new Intl.Segmenter()).segment(s) };')
        if (!text.includes('Fast path: printable ASCII')) {
          const at = '\tlet width = 0;\n'
          if (!text.includes(at)) throw new Error(`${args.path}: no place for the ASCII fast path: update stringWidthPlugin`)
          text = text.replace(at, '\tif (/^[\\u0020-\\u007E]*$/.test(string)) {\n\t\treturn string.length;\n\t}\n\n' + at)
        }
        return { contents: text, loader: 'js' }
      })
    },
  }
}

/**
 * Third-party packages bundled each into a file of its own beside xp.cjs, required on first
 * use: none holds xp's state, and a command that never calls one never reads it. In
 * xp.cjs they cost every start: the AWS SDK alone (1 MB) was 10 ms of `xp run -- true`,
 * its wrappers run and its share of the code cache read in (810 -> 503 KB).
 */
export const SIDE_BUNDLES = { '@aws-sdk/client-s3': 'aws-sdk.cjs', 'hash-wasm': 'hash-wasm.cjs', yargs: 'yargs.cjs', 'fast-glob': 'fast-glob.cjs' }

/** Imports of SIDE_BUNDLES' packages become requires of their files, beside the bundle. */
function sideBundlesPlugin() {
  return {
    name: 'xp-side-bundles',
    setup(b) {
      const names = Object.keys(SIDE_BUNDLES).map((n) => n.replace(/[/.]/g, '\\$&'))
      b.onResolve({ filter: new RegExp(`^(${names.join('|')})$`) }, (args) => ({ path: `./${SIDE_BUNDLES[args.path]}`, external: true }))
    },
  }
}

/** OUTDIR/<file> of each of SIDE_BUNDLES: the package's exports, as CommonJS. */
async function buildSideBundles(outdir) {
  for (const [pkg, file] of Object.entries(SIDE_BUNDLES)) {
    // xp.cjs requires it as Node imports CommonJS (`default` is module.exports), so a package
    // used by its default export (yargs, fast-glob) exports that function whole
    const contents =
      pkg === 'yargs' || pkg === 'fast-glob'
        ? `const m = require('${pkg}'); module.exports = typeof m === 'function' ? m : m.default`
        : `module.exports = require('${pkg}')`
    await build({
      ...cliBundleOptions(),
      stdin: { contents, resolveDir: ROOT, loader: 'js' },
      outfile: path.join(outdir, file),
    })
  }
}

export function cliBundleOptions({ metaUrl = "require('node:url').pathToFileURL(__filename).href", define = {}, sideBundles = false } = {}) {
  /** @type {import('esbuild').BuildOptions} */
  const options = {
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // `import('node:http')` (in the AWS SDK) becomes a require: a script compiled by
    // src/cli/launch.ts has no loader for import(), and would throw where it is called
    // and a regular expression with the `v` flag (Node 20 has it) stays a literal: esbuild
    // made string-width's `/^\p{RGI_Emoji}$/v` a `new RegExp(...)`, built at load (17 ms),
    // where a literal is built when first used
    supported: { 'dynamic-import': false, 'regexp-set-notation': true },
    // less to parse on a start without the code cache; identifiers are kept so stack traces stay readable
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    logLevel: 'warning',
    banner: { js: `var __xpMetaUrl = ${metaUrl};` },
    define: {
      'import.meta.url': '__xpMetaUrl',
      __XP_VERSION__: JSON.stringify(packageVersion()),
      // the AWS SDK's notice, at every client made on Node 20, that its 2027 releases will
      // need Node 22: nothing an xp user can act on (it reached `xp checkout`'s output)
      'process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED': '"true"',
      ...define,
    },
    // test-only packages; nothing in src/ imports them
    external: ['playwright-core', 's3rver'],
    plugins: [yamlLoadPlugin("require('yaml')"), stringWidthPlugin(), ...(sideBundles ? [sideBundlesPlugin()] : [])],
  }
  return options
}

/**
 * The code cache of DIR/xp.cjs: scripts/train-code-cache.cjs runs the everyday commands in
 * a scratch repository in one process and saves what V8 compiled. Best effort: without it
 * the first start makes a cache of its own (src/cli/launch.ts), so a failure only warns.
 */
function trainCodeCache(dir) {
  try {
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'train-code-cache.cjs'), dir], { stdio: 'pipe', timeout: 60_000 })
  } catch (e) {
    process.stderr.write(
      `build: no code cache made (the first start will make one): ${String(e.stderr || e.message)
        .trim()
        .slice(-2000)}\n`,
    )
  }
}

export async function buildAll(outdir) {
  outdir = path.resolve(outdir)
  const tmp = `${outdir}.new-${process.pid}`
  fs.rmSync(tmp, { recursive: true, force: true })
  const id = inputsId()
  await build({
    ...cliBundleOptions({ sideBundles: true }),
    entryPoints: [path.join(ROOT, 'src/cli/bin.ts')],
    outfile: path.join(tmp, 'xp.cjs'),
    sourcemap: 'linked',
  })
  await buildSideBundles(tmp)
  const dynamicImport = /(?<![\w$.])import\(/.exec(fs.readFileSync(path.join(tmp, 'xp.cjs'), 'utf8'))
  if (dynamicImport) throw new Error(`dist/xp.cjs has an import() at ${dynamicImport.index}: the launcher's vm.Script cannot run it`)
  await build({
    entryPoints: [path.join(ROOT, 'src/cli/launch.ts')],
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    outfile: path.join(tmp, 'bin.cjs'),
    logLevel: 'warning',
    define: { __XP_BUILD_ID__: JSON.stringify(id) },
  })
  await buildUi(tmp)

  // Save the top-level help as yargs renders it, so `xp --help` need not load yargs.
  const help = execFileSync(process.execPath, [path.join(tmp, 'bin.cjs'), '--help', '--no-saved-help'], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', XDG_CACHE_HOME: path.join(tmp, 'no-cache') },
  })
  fs.writeFileSync(path.join(tmp, 'help.txt'), help)
  // that start wrote a cache of the help alone; the journey's replaces it
  for (const f of fs.readdirSync(tmp)) if (f.endsWith('.cache')) fs.rmSync(path.join(tmp, f))
  fs.rmSync(path.join(tmp, 'no-cache'), { recursive: true, force: true })
  trainCodeCache(tmp)
  fs.writeFileSync(path.join(tmp, 'build-id'), id + '\n')

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
