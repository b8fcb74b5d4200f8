import type { Argv } from 'yargs'
import type { ArgsOf } from '../args.js'
import { cliRepo } from '../context.js'
import { gcCache } from '../../core/cache/gc.js'
import { printJson } from '../output.js'
import { usageError } from '../../core/errors.js'
import { formatBytes } from '../format-bytes.js'

export const builder = (y: Argv) =>
  y
    .option('dry-run', { alias: 'n', type: 'boolean', describe: 'only say what would be removed' })
    .option('grace', {
      type: 'number',
      default: 3600,
      describe: 'keep unreferenced objects younger than this many seconds (a concurrent add may be writing them); 0 removes them now',
    })
    .option('json', { type: 'boolean', describe: 'print the result as JSON' })

export async function handler(argv: ArgsOf<typeof builder>) {
  if (!Number.isFinite(argv.grace) || argv.grace < 0) throw usageError('XP_BAD_GRACE', '--grace takes a number of seconds, 0 or more')
  const repo = await cliRepo()
  const res = await gcCache(repo, { dryRun: argv['dry-run'], graceS: argv.grace })
  if (argv.json) return printJson(res)
  const n = `${res.removed} object${res.removed === 1 ? '' : 's'}`
  process.stdout.write(
    `${res.dry_run ? 'would remove' : 'removed'} ${n}, ${formatBytes(res.bytes)} freed${res.dry_run ? ' (dry run)' : ''}; ${res.kept} kept${res.recent ? `, ${res.recent} unreferenced but newer than --grace ${argv.grace}s kept (\`xp gc --grace 0\` removes them)` : ''}\n`,
  )
}
