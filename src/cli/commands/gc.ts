import type { Argv } from 'yargs'
import { cliRepo } from '../context.js'
import { gcCache } from '../../core/cache/gc.js'
import { printJson } from '../output.js'
import { formatBytes } from '../format-bytes.js'

export const builder = (y: Argv) =>
  y
    .option('dry-run', { alias: 'n', type: 'boolean', describe: 'only say what would be removed' })
    .option('json', { type: 'boolean', describe: 'print the result as JSON' })

export async function handler(argv: { 'dry-run'?: boolean; json?: boolean }) {
  const repo = await cliRepo()
  const res = await gcCache(repo, { dryRun: argv['dry-run'] })
  if (argv.json) return printJson(res)
  const n = `${res.removed} object${res.removed === 1 ? '' : 's'}`
  process.stdout.write(`${res.dry_run ? 'would remove' : 'removed'} ${n}, ${formatBytes(res.bytes)} freed${res.dry_run ? ' (dry run)' : ''}; ${res.kept} kept\n`)
}
