/**
 * `xp import …`: runs made elsewhere become xp runs. Built like `xp model`, `xp queue` and
 * `xp remote`: one subcommand per source, each with its own arguments and help.
 */
import type { Argv } from 'yargs'
import type { ArgsOf } from '../args.js'
import { cliRepo } from '../context.js'
import { printJson, info } from '../output.js'

const json = { json: { type: 'boolean', describe: 'print the imported runs as JSON' } } as const

const dvcBuilder = (c: Argv) =>
  c
    .positional('revs', { type: 'string', array: true, describe: "experiment names, or revisions whose experiments to import (default: HEAD's)" })
    .option('all', { alias: 'A', type: 'boolean', describe: 'every DVC experiment, whatever its baseline' })
    .options(json)
const mlflowBuilder = (c: Argv) =>
  c.positional('mlruns', { type: 'string', demandOption: true, describe: 'the mlruns folder of an MLflow file store' }).options(json)

export const builder = (y: Argv) =>
  y
    .command('dvc [revs..]', 'DVC experiments (refs/exps, DVC 2.x and 3.x) become runs; importing again adds nothing', dvcBuilder, (a) => importDvc(a))
    .command('mlflow <mlruns>', "an MLflow file store's runs and artifacts become runs; importing again adds nothing", mlflowBuilder, (a) => importMlflow(a))
    .demandCommand(1, 'name what to import: dvc or mlflow')
    .example('xp import dvc --all', 'every DVC experiment of the repository becomes a run')
    .example('xp import dvc proud-jird', 'one experiment, by its DVC name')
    .example('xp import mlflow mlruns', "an MLflow file store's runs (importing again adds nothing)")

export async function handler() {}

async function importDvc(argv: ArgsOf<typeof dvcBuilder>) {
  const { importDvcExperiments } = await import('../../core/dvc/import.js')
  const res = await importDvcExperiments(await cliRepo(), { all: argv.all, revs: (argv.revs ?? []).map(String) })
  if (argv.json) return printJson(res)
  if (!res.total) return info(`no DVC experiments to import${argv.all ? '' : " for HEAD (--all imports every baseline's)"}`)
  const names = res.imported.slice(0, 5).map((r) => r.name)
  const listed = res.imported.length ? `: ${names.join(', ')}${res.imported.length > 5 ? ', ...' : ''}` : ''
  info(`imported ${res.imported.length} DVC experiment${res.imported.length === 1 ? ' as a run' : 's as runs'}, ${res.present} already imported${listed}`)
}

async function importMlflow(argv: ArgsOf<typeof mlflowBuilder>) {
  const { importMlflowStore } = await import('../../core/mlflow/import.js')
  const res = await importMlflowStore(await cliRepo(), { path: argv.mlruns })
  if (argv.json) return printJson(res)
  for (const r of res.imported) process.stdout.write(`imported ${r.name} (${r.id}) from MLflow run ${r.mlflow_run_id} [${r.experiment}]\n`)
  info(
    `${res.imported.length} run${res.imported.length === 1 ? '' : 's'} imported, ${res.skipped} already there${res.deleted ? `, ${res.deleted} deleted in MLflow left out` : ''}`,
  )
}
