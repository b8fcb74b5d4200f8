import type { Argv } from 'yargs'
import { cliRepo } from '../context.js'
import { importDvcExperiments } from '../../core/dvc/import.js'
import { printJson, info } from '../output.js'
import { usageError } from '../../core/errors.js'

export const builder = (y: Argv) =>
  y
    .positional('source', { type: 'string', describe: 'where runs come from: dvc (DVC experiments, refs/exps)' })
    .positional('revs', { type: 'string', array: true, describe: "experiment names, or revisions whose experiments to import (default: HEAD's)" })
    .option('all', { alias: 'A', type: 'boolean', describe: 'every DVC experiment, whatever its baseline' })
    .option('json', { type: 'boolean', describe: 'print the imported runs as JSON' })
    .example('xp import dvc --all', 'every DVC experiment of the repository becomes a run')
    .example('xp import dvc proud-jird', 'one experiment, by its DVC name')

export async function handler(argv: { source: string; revs?: string[]; all?: boolean; json?: boolean }) {
  if (argv.source !== 'dvc') throw usageError('XP_BAD_SOURCE', `xp import takes "dvc" (got ${JSON.stringify(argv.source)})`)
  const res = await importDvcExperiments(await cliRepo(), { all: argv.all, revs: (argv.revs ?? []).map(String) })
  if (argv.json) return printJson(res)
  if (!res.total) return info(`no DVC experiments to import${argv.all ? '' : " for HEAD (--all imports every baseline's)"}`)
  info(
    `imported ${res.imported.length} DVC experiment${res.imported.length === 1 ? ' as a run' : 's as runs'}, ${res.present} already imported${
      res.imported.length
        ? `: ${res.imported
            .slice(0, 5)
            .map((r) => r.name)
            .join(', ')}${res.imported.length > 5 ? ', ...' : ''}`
        : ''
    }`,
  )
}
