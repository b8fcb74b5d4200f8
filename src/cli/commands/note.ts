import type { Argv } from 'yargs'
import type { ArgsOf } from '../args.js'
import { cliRepo } from '../context.js'
import { noteRun } from '../../core/runs/manage.js'
import { printJson, info } from '../output.js'

export const builder = (y: Argv) =>
  y.positional('run', { type: 'string', demandOption: true }).positional('text', { type: 'string', demandOption: true }).option('json', { type: 'boolean' })

export async function handler(argv: ArgsOf<typeof builder>) {
  const res = await noteRun(await cliRepo(), { run: String(argv.run), text: String(argv.text) })
  if (argv.json) return printJson({ run: res.run.id, name: res.run.name, notes: res.notes })
  info(`noted ${res.run.name}`)
}
