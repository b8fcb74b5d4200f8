import type { Argv } from 'yargs'
import type { ArgsOf } from '../args.js'
import { cliRepo } from '../context.js'
import { branchRun } from '../../core/runs/manage.js'
import { printJson, info } from '../output.js'

export const builder = (y: Argv) =>
  y.positional('run', { type: 'string', demandOption: true }).positional('branch', { type: 'string', demandOption: true }).option('json', { type: 'boolean' })

export async function handler(argv: ArgsOf<typeof builder>) {
  const res = await branchRun(await cliRepo(), { run: String(argv.run), branch: String(argv.branch) })
  if (argv.json) return printJson({ run: res.run.id, name: res.run.name, branch: res.branch, commit: res.run.commit })
  info(`created branch ${res.branch} at run ${res.run.name} (${res.run.commit.slice(0, 12)})`)
}
