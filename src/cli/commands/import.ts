import type { Argv } from 'yargs'
import { cliRepo } from '../context.js'
import { usageError } from '../../core/errors.js'
import { printJson, info } from '../output.js'

export const builder = (y: Argv) =>
  y
    .positional('kind', { type: 'string', describe: 'what to import: mlflow' })
    .positional('path', { type: 'string', describe: 'the store to import (an MLflow mlruns/ folder)' })
    .option('json', { type: 'boolean', describe: 'print the result as JSON' })
    .example('xp import mlflow mlruns', "import an MLflow file store's runs (importing again adds nothing)")

export async function handler(argv: { kind: string; path: string; json?: boolean }) {
  if (argv.kind !== 'mlflow') throw usageError('XP_USAGE', `cannot import ${JSON.stringify(argv.kind)}`, 'xp import mlflow PATH')
  const repo = await cliRepo()
  const { importMlflowStore } = await import('../../core/mlflow/import.js')
  const res = await importMlflowStore(repo, { path: argv.path })
  if (argv.json) return printJson(res)
  for (const r of res.imported) process.stdout.write(`imported ${r.name} (${r.id}) from MLflow run ${r.mlflow_run_id} [${r.experiment}]\n`)
  info(
    `${res.imported.length} run${res.imported.length === 1 ? '' : 's'} imported, ${res.skipped} already there${res.deleted ? `, ${res.deleted} deleted in MLflow left out` : ''}`,
  )
}
