import type { Argv } from 'yargs'
import { cliRepo } from '../context.js'
import { removeRuns } from '../../core/runs/manage.js'
import { printJson, info } from '../output.js'

export const builder = (y: Argv) => y.positional('runs', { type: 'string', array: true }).option('json', { type: 'boolean' })

export async function handler(argv: { runs: string[]; json?: boolean }) {
  const removed = await removeRuns(await cliRepo(), { runs: argv.runs.map(String) })
  if (argv.json) return printJson(removed.map((r) => ({ id: r.id, name: r.name, commit: r.commit })))
  info(`removed ${removed.map((r) => r.name).join(', ')}`)
}
