import type { Argv } from 'yargs'
import { cliRepo } from '../context.js'
import { fsckCache } from '../../core/cache/fsck.js'
import { loadConfig } from '../../core/repo.js'
import { openDataRemote } from '../../core/sync/data.js'
import { XpError, EXIT } from '../../core/errors.js'
import { printJson, red } from '../output.js'
import { formatBytes } from '../format-bytes.js'
import { ttyProgress } from '../progress.js'

export const builder = (y: Argv) =>
  y
    .option('json', { type: 'boolean', describe: 'print the result as JSON' })
    .option('remote', { type: 'boolean', describe: 'also check that every referenced object is on the data remote' })
    .option('r', { type: 'string', describe: 'the data remote to check (with --remote); default: the default remote' })

export async function handler(argv: { json?: boolean; remote?: boolean; r?: string }) {
  const repo = await cliRepo()
  const progress = ttyProgress()
  repo.ctx.onProgress = progress.onProgress
  const remote = argv.remote || argv.r ? await openDataRemote(repo, loadConfig(repo), argv.r, undefined) : undefined
  if ((argv.remote || argv.r) && !remote)
    throw new XpError('XP_NO_DATA_REMOTE', 'no data remote to check', {
      exitCode: EXIT.usage,
      hint: 'add one with `xp remote add NAME URL --default`, or name it with -r',
    })
  const res = await fsckCache(repo, { remote: remote ?? undefined }).finally(() => {
    progress.done()
    remote?.close()
  })
  const problems = res.corrupt.length + res.missing.length + (res.remote_missing?.length ?? 0)
  if (problems) process.exitCode = 1
  if (argv.json) return printJson(res)
  for (const c of res.corrupt) process.stdout.write(`${red('corrupt')}: ${c.oid} (${c.problem})\n`)
  for (const m of res.missing) process.stdout.write(`${red('missing')}: ${m.oid} (needed by ${m.needed_by.join('; ') || 'a reference'})\n`)
  for (const m of res.remote_missing ?? [])
    process.stdout.write(`${red('missing on remote')} ${res.remote}: ${m.oid} (needed by ${m.needed_by.join('; ') || 'a reference'})\n`)
  const parts = [`${res.corrupt.length} corrupt`, `${res.missing.length} missing`]
  if (res.remote_missing) parts.push(`${res.remote_missing.length} missing on ${res.remote}`)
  if (res.on_remote_only)
    process.stdout.write(
      `${res.on_remote_only} referenced object${res.on_remote_only === 1 ? ' is' : 's are'} only on ${res.remote}: fetched when needed (\`xp pull --all-data\` fetches them now)\n`,
    )
  process.stdout.write(`checked ${res.checked} objects (${formatBytes(res.bytes)}): ${problems ? parts.join(', ') : 'all good'}\n`)
  if (res.repair) process.stdout.write(`repair: ${res.repair}\n`)
}
