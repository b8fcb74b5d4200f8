// `npm run bench`: every benchmark in bench/, one after another (they share two cores,
// so never in parallel). `npm run bench -- data show` runs only those.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
// the benchmarks run the checkout's bin/xp.js: build dist/ from the current sources first
spawnSync(process.execPath, [path.join(here, '..', 'scripts', 'build.mjs')], { stdio: 'inherit' })
const only = process.argv.slice(2)
const files = fs
  .readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && f !== 'all.mjs' && !f.startsWith('lib'))
  .sort()
for (const f of files) {
  if (only.length && !only.includes(path.basename(f, '.mjs'))) continue
  console.log(`\n=== bench/${f}`)
  const r = spawnSync(process.execPath, [path.join(here, f)], { stdio: 'inherit' })
  if (r.status !== 0) console.log(`(bench/${f} exited ${r.status})`)
}
