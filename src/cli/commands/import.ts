import type { Argv } from 'yargs'
import { cliRepo } from '../context.js'
import { printJson, info } from '../output.js'
import { usageError } from '../../core/errors.js'

export const builder = (y: Argv) =>
  y
    .positional('source', { type: 'string', describe: 'where runs come from: dvc (DVC experiments, refs/exps) or mlflow (an MLflow file store, mlruns/)' })
    .positional('revs', {
      type: 'string',
      array: true,
      describe: "dvc: experiment names, or revisions whose experiments to import (default: HEAD's); mlflow: the mlruns folder",
    })
    .option('all', { alias: 'A', type: 'boolean', describe: 'dvc: every DVC experiment, whatever its baseline' })
    .option('json', { type: 'boolean', describe: 'print the imported runs as JSON' })
    .example('xp import dvc --all', 'every DVC experiment of the repository becomes a run')
    .example('xp import dvc proud-jird', 'one experiment, by its DVC name')
    .example('xp import mlflow mlruns', "an MLflow file store's runs (importing again adds nothing)")

export async function handler(argv: { source: string; revs?: string[]; all?: boolean; json?: boolean }) {
  if (argv.source === 'mlflow') return importMlflow(argv)
  if (argv.source !== 'dvc') throw usageError('XP_BAD_SOURCE', `xp import takes "dvc" or "mlflow" (got ${JSON.stringify(argv.source)})`)
  const { importDvcExperiments } = await import('../../core/dvc/import.js')
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

async function importMlflow(argv: { revs?: string[]; json?: boolean }) {
  const paths = (argv.revs ?? []).map(String)
  if (paths.length !== 1) throw usageError('XP_USAGE', 'xp import mlflow takes one path: the mlruns folder of an MLflow file store', 'xp import mlflow mlruns')
  const { importMlflowStore } = await import('../../core/mlflow/import.js')
  const res = await importMlflowStore(await cliRepo(), { path: paths[0] })
  if (argv.json) return printJson(res)
  for (const r of res.imported) process.stdout.write(`imported ${r.name} (${r.id}) from MLflow run ${r.mlflow_run_id} [${r.experiment}]\n`)
  info(
    `${res.imported.length} run${res.imported.length === 1 ? '' : 's'} imported, ${res.skipped} already there${res.deleted ? `, ${res.deleted} deleted in MLflow left out` : ''}`,
  )
}
