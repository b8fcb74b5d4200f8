import type { Argv } from 'yargs'
import { cliRepo } from '../context.js'
import { diffQuery } from '../../core/compare/query.js'
import { printJson } from '../output.js'
import { diffMarkdown, diffText } from '../render-compare.js'

export const builder = (y: Argv) =>
  y
    .positional('a', { type: 'string', describe: 'the older run (default: the run before B, or before the latest)' })
    .positional('b', { type: 'string', describe: 'the newer run' })
    .option('all', { type: 'boolean', describe: 'include params and metrics that did not change' })
    .option('all-projects', { type: 'boolean', describe: "with no runs named, compare the two latest runs of every project, not of this project's" })
    .option('code', { type: 'boolean', describe: 'add `git diff --stat` between the two run commits' })
    .option('env', { type: 'boolean', describe: 'add what changed in the environment: host, versions, variables, Python packages' })
    .option('json', { type: 'boolean', describe: '{a, b, params: {KEY: {old, new, diff}}, metrics: {...}}' })
    .option('md', { type: 'boolean', describe: 'markdown, for a pull-request comment' })
    .conflicts('json', 'md')
    .example('xp diff', 'the latest run against the one before')
    .example('xp diff brisk-otter calm-heron --md', 'two runs, as markdown')

export async function handler(argv: {
  a?: string
  b?: string
  all?: boolean
  'all-projects'?: boolean
  code?: boolean
  env?: boolean
  json?: boolean
  md?: boolean
}) {
  const repo = await cliRepo()
  const d = await diffQuery(repo, {
    a: argv.a === undefined ? undefined : String(argv.a),
    b: argv.b === undefined ? undefined : String(argv.b),
    all: argv.all,
    allProjects: argv['all-projects'],
    code: argv.code,
    env: argv.env,
  })
  if (argv.json) return printJson(d)
  process.stdout.write(argv.md ? diffMarkdown(d) : diffText(d, { all: argv.all }))
}
