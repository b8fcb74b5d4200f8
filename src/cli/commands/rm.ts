import type { Argv } from 'yargs'
import type { ArgsOf } from '../args.js'
import { cliRepo } from '../context.js'
import { removeRuns } from '../../core/runs/manage.js'
import { printJson, info, warn } from '../output.js'

export const builder = (y: Argv) =>
  y
    .positional('runs', { type: 'string', array: true, demandOption: true })
    .option('remote', { type: 'string', describe: 'delete the runs on this git remote instead of locally' })
    .option('json', { type: 'boolean' })

export async function handler(argv: ArgsOf<typeof builder>) {
  if (argv.remote) {
    const { removeRemoteRuns } = await import('../../core/sync/rm-remote.js')
    const res = await removeRemoteRuns(await cliRepo(), { remote: argv.remote, runs: argv.runs.map(String) })
    if (argv.json) return printJson(res)
    return info(`removed ${res.deleted.length} run${res.deleted.length === 1 ? '' : 's'} from ${res.remote}: ${res.deleted.join(', ')}`)
  }
  const repo = await cliRepo()
  const removed = await removeRuns(repo, { runs: argv.runs.map(String) })
  // a run a git remote still holds comes back with the next `xp pull`: say so
  const { remotesHolding } = await import('../../core/sync/rm-remote.js')
  for (const h of await remotesHolding(
    repo,
    removed.map((r) => r.id),
  )) {
    const names = removed.filter((r) => h.ids.includes(r.id)).map((r) => r.name)
    if (names.length)
      warn(
        `git remote "${h.remote}" still holds ${names.join(', ')}: the next \`xp pull\` brings ${names.length === 1 ? 'it' : 'them'} back; to delete ${names.length === 1 ? 'it' : 'them'} there too: xp rm --remote ${h.remote} ${removed
          .filter((r) => h.ids.includes(r.id))
          .map((r) => r.id)
          .join(' ')}`,
      )
  }
  if (argv.json) return printJson(removed.map((r) => ({ id: r.id, name: r.name, commit: r.commit })))
  info(`removed ${removed.map((r) => r.name).join(', ')}`)
}
