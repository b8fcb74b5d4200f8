import type { Argv } from 'yargs'
import type { ArgsOf } from '../args.js'
import path from 'node:path'
import { cliRepo } from '../context.js'
import { buildReport, DEFAULT_REPORT_RUNS } from '../../ui/report.js'
import { writeFileAtomic } from '../../core/fsutil.js'
import { info, printJson } from '../output.js'
import { usageError } from '../../core/errors.js'

export const builder = (y: Argv) =>
  y
    .positional('runs', { type: 'string', array: true, describe: `runs to include (default: the latest ${DEFAULT_REPORT_RUNS}; -n N, --all)` })
    .option('output', { alias: 'o', type: 'string', default: 'xp-report.html', describe: 'the HTML file to write' })
    .option('limit', { alias: 'n', type: 'number', describe: `how many of the latest runs, when none are named (default ${DEFAULT_REPORT_RUNS})` })
    .option('all', { type: 'boolean', describe: 'every run, when none are named' })
    .option('all-projects', { type: 'boolean', describe: "when none are named, the latest runs of every project, not of this project's" })
    .conflicts('all', 'limit')
    .option('json', { type: 'boolean', describe: 'print what was written as JSON' })
    .example('xp plots -o report.html', `the latest ${DEFAULT_REPORT_RUNS} runs in one self-contained HTML file`)
    .example('xp plots -n 20', 'the latest 20 runs')
    .example('xp plots brisk-otter calm-heron', 'two runs side by side')

export async function handler(argv: ArgsOf<typeof builder>) {
  if (argv.limit !== undefined && (!Number.isInteger(argv.limit) || argv.limit < 1))
    throw usageError('XP_BAD_LIMIT', `-n takes a whole number of runs, 1 or more (got ${argv.limit})`)
  const named = (argv.runs ?? []).map(String)
  const repo = await cliRepo()
  const { html, runs, total } = await buildReport(repo, {
    runs: named,
    latest: argv.all ? Infinity : (argv.limit ?? DEFAULT_REPORT_RUNS),
    allProjects: argv['all-projects'],
  })
  const file = path.resolve(argv.output)
  writeFileAtomic(file, html)
  if (argv.json) return printJson({ path: file, runs: runs.map((r) => r.id), bytes: Buffer.byteLength(html), total })
  const names = runs.map((r) => r.name).join(', ')
  const which = named.length
    ? `${runs.length} run${runs.length === 1 ? '' : 's'}`
    : runs.length < total
      ? `the latest ${runs.length} of ${total} runs`
      : `all ${total} run${total === 1 ? '' : 's'}`
  const more = !named.length && runs.length < total ? `; -n N or --all for more` : ''
  info(`wrote ${path.relative(process.cwd(), file) || file}: ${which} (${names})${more}`)
}
