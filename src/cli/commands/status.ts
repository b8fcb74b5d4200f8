import type { Argv } from 'yargs'
import type { ArgsOf } from '../args.js'
import { cliRepo } from '../context.js'
import { dataStatus } from '../../core/cache/status.js'
import { printJson, yellow, red } from '../output.js'
import { isDvcProject } from '../../core/dvc/workspace.js'

export const builder = (y: Argv) =>
  y
    .positional('paths', { type: 'string', array: true, describe: 'data paths or pointer files (default: all)' })
    .option('json', { type: 'boolean', describe: 'print the status as JSON' })

export async function handler(argv: ArgsOf<typeof builder>) {
  const repo = await cliRepo()
  const res = await dataStatus(repo, { paths: argv.paths?.map(String) })
  if (argv.json) return printJson(res)
  const lines: string[] = []
  for (const s of res) {
    if (s.state !== 'unchanged') lines.push(`${s.state === 'deleted' ? red(s.state) : yellow(s.state)}: ${s.path}`)
    for (const c of s.changes) lines.push(`    ${c.change}: ${c.path}`)
    if (s.missing) lines.push(`not in cache: ${s.path} (${s.missing} object${s.missing === 1 ? '' : 's'}; \`xp pull\` fetches them)`)
  }
  // DVC's data is DVC's to report (`dvc status`): in a DVC project, no pointers means nothing to say
  if (!lines.length && !res.length && isDvcProject(repo.root)) return
  process.stdout.write(
    lines.length
      ? lines.join('\n') + '\n'
      : res.length
        ? `data up to date (${res.length} pointer${res.length === 1 ? '' : 's'})\n`
        : 'no data tracked; track some with `xp add PATH`\n',
  )
}
