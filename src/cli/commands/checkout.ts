import type { Argv } from 'yargs'
import type { ArgsOf } from '../args.js'
import { cliRepo } from '../context.js'
import { checkoutData } from '../../core/cache/checkout.js'
import { remoteFetcher } from '../../core/sync/data.js'
import { printJson, info } from '../output.js'

export const builder = (y: Argv) =>
  y
    .positional('paths', { type: 'string', array: true, describe: 'data paths or pointer files (default: all)' })
    .option('force', { alias: 'f', type: 'boolean', describe: 'overwrite local changes that are not in the cache' })
    .option('json', { type: 'boolean', describe: 'print what was done as JSON' })

export async function handler(argv: ArgsOf<typeof builder>) {
  const repo = await cliRepo()
  const res = await checkoutData(repo, { paths: argv.paths?.map(String), force: argv.force, fetchMissing: remoteFetcher(repo) })
  if (argv.json) return printJson(res)
  const written = res.reduce((n, r) => n + r.written, 0)
  const removed = res.reduce((n, r) => n + r.removed, 0)
  info(`checked out ${res.length} path${res.length === 1 ? '' : 's'}: ${written} file${written === 1 ? '' : 's'} written, ${removed} removed`)
}
