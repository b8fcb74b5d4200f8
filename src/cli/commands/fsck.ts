import type { Argv } from 'yargs'
import { cliRepo } from '../context.js'
import { fsckCache } from '../../core/cache/fsck.js'
import { printJson, red } from '../output.js'
import { formatBytes } from '../format-bytes.js'
import { ttyProgress } from '../progress.js'

export const builder = (y: Argv) => y.option('json', { type: 'boolean', describe: 'print the result as JSON' })

export async function handler(argv: { json?: boolean }) {
  const repo = await cliRepo()
  const progress = ttyProgress()
  repo.ctx.onProgress = progress.onProgress
  const res = await fsckCache(repo).finally(progress.done)
  if (res.corrupt.length) process.exitCode = 1
  if (argv.json) return printJson(res)
  for (const c of res.corrupt) process.stdout.write(`${red('corrupt')}: ${c.oid} (${c.problem})\n`)
  process.stdout.write(`checked ${res.checked} objects (${formatBytes(res.bytes)}): ${res.corrupt.length ? `${res.corrupt.length} corrupt; remove them and re-add or pull the data` : 'all good'}\n`)
}
