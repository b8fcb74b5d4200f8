// noUncheckedIndexedAccess, turned on one folder at a time: tsc runs over all of src/ with
// the flag, and only the errors in the folders listed here fail the check (tsc cannot scope
// a flag to a folder, since it reports errors in every file a folder imports).
// Add a folder once its errors are fixed; the goal is the whole of src/.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

const STRICT = ['src/remotes/', /^src\/cli\/[^/]+\.ts/]

const root = path.resolve(import.meta.dirname, '..')
const config = path.join(root, `tsconfig.index-access.${process.pid}.json`)
fs.writeFileSync(config, JSON.stringify({ extends: './tsconfig.json', compilerOptions: { noUncheckedIndexedAccess: true }, include: ['src'] }))
try {
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', config], { cwd: root, encoding: 'utf8' })
  const errors = r.stdout.split('\n').filter((l) => /^src\/.*error TS/.test(l) && STRICT.some((s) => (typeof s === 'string' ? l.startsWith(s) : s.test(l))))
  if (errors.length) {
    process.stderr.write(`noUncheckedIndexedAccess: ${errors.length} error(s) in folders that must stay clean:\n${errors.join('\n')}\n`)
    process.exitCode = 1
  }
} finally {
  fs.rmSync(config, { force: true })
}
