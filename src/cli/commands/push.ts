import type { Argv } from 'yargs'
import { syncRepo, transferLine, interruptible } from '../sync.js'
import { splitRemoteArgs } from '../../core/sync/git-remote.js'
import { pushRuns } from '../../core/sync/push.js'
import { printJson, info } from '../output.js'

export const builder = (y: Argv) =>
  y
    .positional('args', { type: 'string', array: true, describe: '[GIT_REMOTE] [RUN...]: the git remote (default origin) and the runs (default all)' })
    .option('remote', { alias: 'r', type: 'string', describe: 'data remote (name in xp.yaml, or URL); default: `remote:`' })
    .option('jobs', { alias: 'j', type: 'number', describe: 'parallel transfers (default 16)' })
    .option('data', { type: 'boolean', default: true, describe: 'upload the data first (--no-data: push the refs alone)' })
    .option('create-remote', { type: 'boolean', describe: 'create the folder data remote if it does not exist (its parent folder must)' })
    .option('json', { type: 'boolean', describe: 'print what was pushed as JSON' })
    .example('xp push', 'push every run, the notes and registry tags to origin, their data first')
    .example('xp push origin brisk-otter -r storage', 'push one run')
    .example('xp push -r storage', 'with no git remote: upload the data alone (of the working tree and every run)')

export async function handler(argv: { args?: string[]; remote?: string; jobs?: number; data?: boolean; json?: boolean; 'create-remote'?: boolean }) {
  const repo = await syncRepo()
  const { remote, runs } = await splitRemoteArgs(repo, (argv.args ?? []).map(String))
  const res = await interruptible(repo, () =>
    pushRuns(repo, { remote, runs, dataRemote: argv.remote, jobs: argv.jobs, noData: argv.data === false, createRemote: argv['create-remote'] }),
  )
  if (argv.json) return printJson(res)
  if (res.remote === null)
    return info(
      `no git remote, so the data alone: ${res.data ? transferLine(res.data, 'uploaded').replace(/^data: /, '') : 'none'}. The runs stay here until you add one (\`git remote add origin URL\`, then \`xp push\`)`,
    )
  const parts = [`${res.runs.pushed} run${res.runs.pushed === 1 ? '' : 's'} pushed`, `${res.runs.upToDate} up to date`]
  if (res.tags.pushed) parts.push(`${res.tags.pushed} tag${res.tags.pushed === 1 ? '' : 's'}`)
  if (res.notes !== 'none') parts.push(`notes ${res.notes}`)
  info(`${remote}: ${parts.join(', ')}${res.data ? `; ${transferLine(res.data, 'uploaded')}` : ''}`)
}
