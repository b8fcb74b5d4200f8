// `npm run build:binary`: dist/xp-linux-x64, one file that runs xp on a machine without
// Node, made with Node's single executable applications support
// (https://nodejs.org/docs/latest-v20.x/api/single-executable-applications.html):
//
//   1. dist/ as usual (its saved help and the page of `xp ui` go into the executable);
//   2. one CommonJS script of the whole CLI: a SEA runs one script and can require only
//      node's built-in modules, so every lazily loaded part (command modules, yaml,
//      hash-wasm and its WebAssembly, the AWS SDK) is inlined, and `import.meta.url`
//      becomes the executable's own URL;
//   3. `node --experimental-sea-config` turns it into a blob, postject injects the blob
//      into a copy of the running node binary.
//
// Options: --out FILE (default dist/xp-linux-x64); --from DIR takes the help and the page
// from a bundle folder built already (the tests' own) instead of building dist/ again.
import { build } from 'esbuild'
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { ROOT, buildAll, cliBundleOptions } from './build.mjs'

if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(`build:binary makes a Linux x64 executable from the running node; this is ${process.platform} ${process.arch}`)
  process.exit(1)
}
const arg = (name) => {
  const i = process.argv.indexOf(name)
  return i > 0 ? process.argv[i + 1] : undefined
}
const out = path.resolve(arg('--out') ?? path.join(ROOT, 'dist', 'xp-linux-x64'))
const started = Date.now()

const dist = arg('--from') ? path.resolve(arg('--from')) : await buildAll(path.join(ROOT, 'dist'))
const embedded = {}
for (const name of ['help.txt', 'ui/app.js', 'ui/app.css']) embedded[name] = fs.readFileSync(path.join(dist, name), 'utf8')

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'xp-sea-'))
try {
  const script = path.join(work, 'xp.cjs')
  const options = cliBundleOptions({
    metaUrl: "require('node:url').pathToFileURL(process.execPath).href",
    define: { __XP_EMBEDDED__: JSON.stringify(embedded) },
  })
  // the same script as dist/xp.cjs, but it runs at once, and is minified whole (V8's cache is in the blob)
  await build({ ...options, entryPoints: [path.join(ROOT, 'src/cli/sea.ts')], outfile: script, minify: true, keepNames: true })

  const blob = path.join(work, 'xp.blob')
  const config = path.join(work, 'sea-config.json')
  fs.writeFileSync(config, JSON.stringify({ main: script, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }))
  execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: 'pipe' })

  const tmp = `${out}.new-${process.pid}`
  fs.mkdirSync(path.dirname(out), { recursive: true })
  fs.copyFileSync(process.execPath, tmp)
  fs.chmodSync(tmp, 0o755)
  // postject's own CLI, in a child: its ELF library prints harmless "Can't find string
  // offset for section name '.note'" warnings (postject issue #83); only real errors are shown
  const postject = path.join(path.dirname(createRequire(import.meta.url).resolve('postject')), 'cli.js')
  const r = spawnSync(process.execPath, [postject, tmp, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'], {
    encoding: 'utf8',
  })
  const noise = /^warning: Can't find string offset for section name/
  process.stderr.write(
    r.stderr
      .split('\n')
      .filter((l) => l && !noise.test(l))
      .map((l) => l + '\n')
      .join(''),
  )
  if (r.status !== 0) throw new Error(`postject failed (exit ${r.status})`)
  fs.renameSync(tmp, out)
  const mb = (n) => `${(n / 1024 / 1024).toFixed(1)} MB`
  console.log(
    `build:binary: wrote ${path.relative(process.cwd(), out) || out} (${mb(fs.statSync(out).size)}; script ${mb(fs.statSync(script).size)}) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  )
} finally {
  fs.rmSync(work, { recursive: true, force: true })
}
