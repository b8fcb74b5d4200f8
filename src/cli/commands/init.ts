import type { Argv } from 'yargs'
import type { ArgsOf } from '../args.js'
import { cliRepo } from '../context.js'
import { initRepo } from '../../core/init.js'
import { printJson, info } from '../output.js'

export const builder = (y: Argv) => y.option('json', { type: 'boolean', describe: 'print the result as JSON' })

export async function handler(argv: ArgsOf<typeof builder>) {
  const repo = await cliRepo()
  const res = initRepo(repo)
  if (argv.json) return printJson({ root: repo.root, project: res.project, created: res.created })
  const where =
    res.project === repo.root ? repo.root : `${res.project} (a project of its own inside the repository ${repo.root}; runs and the cache are the repository's)`
  info(res.created.length ? `initialized in ${where} (created ${res.created.join(', ')})` : `already initialized in ${where}`)
}
