import type { Argv } from 'yargs'
import type { ArgsOf } from '../args.js'
import { cliRepo } from '../context.js'
import { addPaths } from '../../core/cache/add.js'
import { printJson, info } from '../output.js'
import { formatBytes } from '../format-bytes.js'
import { ttyProgress } from '../progress.js'

export const builder = (y: Argv) =>
  y
    .positional('paths', { type: 'string', array: true, demandOption: true, describe: 'files or folders to track' })
    .option('json', { type: 'boolean', describe: 'print what was added as JSON' })
    .example('xp add data/train', 'cache a folder, write data/train.xp, ignore data/train in git')

export async function handler(argv: ArgsOf<typeof builder>) {
  const repo = await cliRepo()
  const progress = ttyProgress()
  repo.ctx.onProgress = progress.onProgress
  const added = await addPaths(repo, { paths: argv.paths.map(String) }).finally(progress.done)
  if (argv.json) return printJson(added)
  for (const a of added) {
    const what = a.files === undefined ? formatBytes(a.size) : `${a.files} file${a.files === 1 ? '' : 's'}, ${formatBytes(a.size)}`
    info(`added ${a.path} (${what}) as ${a.oid}; commit ${a.pointer} with git`)
  }
}
