import type { Argv } from 'yargs'
import type { ArgsOf } from '../args.js'
import { syncRepo, transferLine, interruptible } from '../sync.js'
import { splitRemoteArgs } from '../../core/sync/git-remote.js'
import { pullRuns } from '../../core/sync/pull.js'
import { printJson, info } from '../output.js'

export const builder = (y: Argv) =>
  y
    .positional('args', { type: 'string', array: true, describe: '[GIT_REMOTE] [RUN...]: the git remote (default origin) and the runs (default all)' })
    .option('remote', { alias: 'r', type: 'string', describe: 'data remote (name in xp.yaml, or URL); default: `remote:`' })
    .option('jobs', { alias: 'j', type: 'number', describe: 'parallel transfers (default 16)' })
    .option('all-data', { type: 'boolean', describe: 'fetch the data of every pulled run too' })
    .option('data', { type: 'boolean', default: true, describe: 'fetch the data (--no-data: the refs only)' })
    .option('json', { type: 'boolean', describe: 'print what was pulled as JSON' })
    .example('xp pull', "fetch runs, notes and registry tags from origin, then the working tree's data")

export async function handler(argv: ArgsOf<typeof builder>) {
  const repo = await syncRepo()
  const { remote, runs } = await splitRemoteArgs(repo, (argv.args ?? []).map(String))
  const res = await interruptible(repo, () =>
    pullRuns(repo, { remote, runs, dataRemote: argv.remote, jobs: argv.jobs, allData: argv['all-data'], noData: argv.data === false }),
  )
  if (argv.json) return printJson(res)
  const wrote = res.checkedOut ? `; ${res.checkedOut} data file${res.checkedOut === 1 ? '' : 's'} written to the working tree` : ''
  if (res.remote === null)
    return info(`no git remote, so the data alone: ${res.data ? transferLine(res.data, 'downloaded').replace(/^data: /, '') : 'none'}${wrote}`)
  const parts = [`${res.runs.fetched} run${res.runs.fetched === 1 ? '' : 's'} fetched`, `${res.runs.upToDate} up to date`]
  if (res.tags.fetched) parts.push(`${res.tags.fetched} tag${res.tags.fetched === 1 ? '' : 's'}`)
  if (res.notes !== 'none') parts.push(`notes ${res.notes}`)
  info(`${remote}: ${parts.join(', ')}${res.data ? `; ${transferLine(res.data, 'downloaded')}` : ''}${wrote}`)
}
