import type { Argv } from 'yargs'
import { cliRepo } from '../context.js'
import { eachShownJson, showRuns } from '../../core/compare/query.js'
import { usageError } from '../../core/errors.js'
import { buildTable } from '../../core/compare/table.js'
import { info } from '../output.js'
import { fitColumns, jsonArrayWriter, showCsv, showMarkdown, showText } from '../render-compare.js'

export const builder = (y: Argv) =>
  y
    .positional('runs', { type: 'string', array: true, describe: "runs to show (id, id prefix or name, of any project); default all of this project's" })
    .option('all-projects', { type: 'boolean', describe: "every project's runs, not only this project's (a repository with an xp.yaml per folder)" })
    .option('sort-by', { type: 'string', describe: 'sort by a key: metrics.acc (or acc), params.lr, created, name, duration_s' })
    .option('asc', { type: 'boolean', describe: 'ascending order' })
    .option('desc', { type: 'boolean', describe: 'descending order (default for metrics and created)' })
    .option('filter', { type: 'string', describe: 'keep runs matching an expression, e.g. "metrics.acc > 0.9 and params.model == \'rf\'"' })
    .option('limit', { alias: 'n', type: 'number', describe: 'show at most N runs' })
    .option('only-changed', { type: 'boolean', describe: 'hide params and metrics that are the same in every run shown' })
    .option('baseline', { type: 'string', describe: 'only runs whose baseline is this commit (a branch, tag or sha)' })
    .option('json', { type: 'boolean', describe: 'an array of run records' })
    .option('csv', { type: 'boolean', describe: 'CSV (RFC 4180)' })
    .option('md', { type: 'boolean', describe: 'a GitHub markdown table' })
    .conflicts('asc', 'desc')
    .conflicts('json', ['csv', 'md'])
    .conflicts('csv', 'md')
    .example('xp show --sort-by acc -n 5', 'the five runs with the best acc')
    .example('xp show --filter "metrics.acc > 0.9 and created >= \'2026-11-01\'"', 'filter runs')
    .example('xp show --all-projects', "every project's runs, with a project column")

interface ShowArgs {
  runs?: string[]
  'sort-by'?: string | string[]
  asc?: boolean
  desc?: boolean
  filter?: string | string[]
  limit?: number
  'only-changed'?: boolean
  baseline?: string
  'all-projects'?: boolean
  json?: boolean
  csv?: boolean
  md?: boolean
}

export async function handler(argv: ShowArgs) {
  if (argv.limit !== undefined && !(Number.isInteger(argv.limit) && argv.limit >= 0))
    throw usageError('XP_USAGE', `-n takes a whole number of runs, not ${JSON.stringify(String(argv.limit))}`)
  const repo = await cliRepo()
  const query = {
    runs: argv.runs?.map(String),
    allProjects: argv['all-projects'],
    baseline: argv.baseline,
    filter: argv.filter,
    sortBy: Array.isArray(argv['sort-by']) ? argv['sort-by'].at(-1) : argv['sort-by'],
    order: argv.asc ? ('asc' as const) : argv.desc ? ('desc' as const) : undefined,
    limit: argv.limit,
  }
  if (argv.json) {
    const out = jsonArrayWriter()
    await eachShownJson(repo, query, out.add)
    return out.end()
  }
  const { runs, total } = await showRuns(repo, query)
  if (!runs.length && argv.limit === 0) return
  if (!runs.length && !total && !argv['all-projects'] && !query.runs?.length) {
    // a project with no runs of its own yet, in a repository whose other projects have some
    const others = (await showRuns(repo, { allProjects: true, limit: 1 })).runs.length
    if (others) return info('no runs in this project yet (other projects have some: `xp show --all-projects`); record one with `xp run -- COMMAND`')
  }
  if (!runs.length) return info(total ? `no run matches (${total} run${total === 1 ? '' : 's'} listed)` : 'no runs yet: record one with `xp run -- COMMAND`')
  const table = buildTable(runs, { onlyChanged: argv['only-changed'], project: argv['all-projects'] })
  if (argv.csv || argv.md) {
    process.stdout.write(argv.csv ? showCsv(table) : showMarkdown(table))
    return
  }
  // on a terminal, a table wider than the window loses columns from the right, and says so
  const { table: fitted, hidden } = process.stdout.isTTY && process.stdout.columns ? fitColumns(table, process.stdout.columns) : { table, hidden: [] }
  process.stdout.write(showText(fitted))
  if (hidden.length)
    info(
      `${hidden.length} column${hidden.length === 1 ? '' : 's'} left out to fit the terminal (${hidden.slice(0, 8).join(', ')}${hidden.length > 8 ? ', …' : ''}); see all with --only-changed, --csv or --md`,
    )
}
