import type { Argv } from 'yargs'
import { cliRepo } from '../context.js'
import { removeRuns } from '../../core/runs/manage.js'
import { printJson, info } from '../output.js'

export const builder = (y: Argv) =>
  y
    .positional('runs', { type: 'string', array: true })
    .option('remote', { type: 'string', describe: 'delete the runs on this git remote instead of locally' })
    .option('json', { type: 'boolean' })

export async function handler(argv: { runs: string[]; remote?: string; json?: boolean }) {
  if (argv.remote) {
    const { removeRemoteRuns } = await import('../../core/sync/rm-remote.js')
    const res = await removeRemoteRuns(await cliRepo(), { remote: argv.remote, runs: argv.runs.map(String) })
    if (argv.json) return printJson(res)
    return info(`removed ${res.deleted.length} run${res.deleted.length === 1 ? '' : 's'} from ${res.remote}: ${res.deleted.join(', ')}`)
  }
  const removed = await removeRuns(await cliRepo(), { runs: argv.runs.map(String) })
  if (argv.json) return printJson(removed.map((r) => ({ id: r.id, name: r.name, commit: r.commit })))
  info(`removed ${removed.map((r) => r.name).join(', ')}`)
}
