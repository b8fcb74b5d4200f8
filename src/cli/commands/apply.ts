import type { Argv } from 'yargs'
import type { ArgsOf } from '../args.js'
import { cliRepo } from '../context.js'
import { applyRun } from '../../core/runs/manage.js'
import { remoteFetcher } from '../../core/sync/data.js'
import { printJson, info } from '../output.js'

export const builder = (y: Argv) =>
  y
    .positional('run', { type: 'string', demandOption: true, describe: 'run id, id prefix or name' })
    .option('force', { alias: 'f', type: 'boolean', describe: 'overwrite uncommitted changes' })
    .option('json', { type: 'boolean' })

export async function handler(argv: ArgsOf<typeof builder>) {
  const repo = await cliRepo()
  // what the run's data needs comes from the default data remote on demand, as for checkout
  const res = await applyRun(repo, { run: String(argv.run), force: argv.force, fetchMissing: remoteFetcher(repo) })
  if (argv.json) return printJson({ run: res.run.id, name: res.run.name, written: res.written, deleted: res.deleted, data: res.data })
  info(
    `applied ${res.run.name} (${res.run.id}): ${res.written.length} file(s) written, ${res.deleted.length} deleted, ${res.data.length} data path(s) from the cache; HEAD and the index are unchanged`,
  )
}
