import type { Argv } from 'yargs'
import path from 'node:path'
import { cliRepo } from '../context.js'
import { buildReport, DEFAULT_REPORT_RUNS } from '../../ui/report.js'
import { writeFileAtomic } from '../../core/fsutil.js'
import { info, printJson } from '../output.js'
import { usageError } from '../../core/errors.js'

export const builder = (y: Argv) =>
  y
    .positional('runs', { type: 'string', array: true, describe: `runs to include (default: the latest ${DEFAULT_REPORT_RUNS})` })
    .option('output', { alias: 'o', type: 'string', default: 'xp-report.html', describe: 'the HTML file to write' })
    .option('limit', { alias: 'n', type: 'number', default: DEFAULT_REPORT_RUNS, describe: 'how many of the latest runs, when none are named' })
    .option('json', { type: 'boolean', describe: 'print what was written as JSON' })
    .example('xp plots -o report.html', 'the latest runs in one self-contained HTML file')
    .example('xp plots brisk-otter calm-heron', 'two runs side by side')

export async function handler(argv: { runs?: string[]; output: string; limit: number; json?: boolean }) {
  if (!Number.isInteger(argv.limit) || argv.limit < 1) throw usageError('XP_BAD_LIMIT', `-n takes a whole number of runs, 1 or more (got ${argv.limit})`)
  const repo = await cliRepo()
  const { html, runs } = await buildReport(repo, { runs: (argv.runs ?? []).map(String), latest: argv.limit })
  const file = path.resolve(argv.output)
  writeFileAtomic(file, html)
  if (argv.json) printJson({ path: file, runs: runs.map((r) => r.id), bytes: Buffer.byteLength(html) })
  else info(`wrote ${path.relative(process.cwd(), file) || file}: ${runs.length} run${runs.length === 1 ? '' : 's'} (${runs.map((r) => r.name).join(', ')})`)
}
