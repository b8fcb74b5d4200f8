/**
 * `xp remote …`: data remotes in xp.yaml. Built like `xp model` and `xp queue`: one yargs
 * subcommand per action, each with its own options and help, its handler typed from them.
 */
import type { Argv } from 'yargs'
import type { ArgsOf } from '../args.js'
import { cliRepo } from '../context.js'
import { addRemote, listRemotes, removeRemote } from '../../core/sync/remote-config.js'
import { printJson, info, renderTable, clean } from '../output.js'

const json = { json: { type: 'boolean', describe: 'print the result as JSON' } } as const

const addBuilder = (c: Argv) =>
  c
    .positional('name', { type: 'string', demandOption: true, describe: 'the remote name' })
    .positional('url', { type: 'string', demandOption: true, describe: 'a folder, file:// URL or s3://BUCKET/PREFIX' })
    .option('default', { type: 'boolean', describe: 'make it the default data remote (`remote:` in xp.yaml)' })
    .option('endpoint', { type: 'string', describe: 'S3 endpoint URL (MinIO, Ceph, R2...); path-style addressing' })
    .option('region', { type: 'string', describe: 'S3 region' })
    .option('profile', { type: 'string', describe: 'AWS profile to use for this remote' })
    .option('force', { type: 'boolean', describe: 'replace a remote of the same name' })
    .option('create', { type: 'boolean', describe: 'create the folder of a folder remote (with its parents)' })
    .options(json)
const removeBuilder = (c: Argv) => c.positional('name', { type: 'string', demandOption: true, describe: 'the remote name' }).options(json)

export const builder = (y: Argv) =>
  y
    .command('add <name> <url>', 'add a data remote to xp.yaml (a folder must exist, or --create)', addBuilder, (a) => add(a))
    .command(
      ['list', 'ls'],
      'list the data remotes (credentials in URLs masked)',
      (c) => c.options(json),
      (a) => list(a),
    )
    .command(['remove <name>', 'rm'], 'remove a data remote from xp.yaml (its data stays where it is)', removeBuilder, (a) => remove(a))
    .demandCommand(1, 'name a remote command: add, list, remove')
    .example('xp remote add storage s3://bucket/xp --endpoint http://127.0.0.1:9000 --default', 'an S3-compatible store')
    .example('xp remote add shared /mnt/team/xp-data', 'a folder')

export async function handler() {}

async function add(argv: ArgsOf<typeof addBuilder>) {
  const repo = await cliRepo()
  const r = addRemote(repo, {
    name: argv.name,
    url: argv.url,
    default: argv.default,
    endpoint: argv.endpoint,
    region: argv.region,
    profile: argv.profile,
    force: argv.force,
  })
  if (argv.create && r.kind === 'fs') {
    const { openRemote } = await import('../../remotes/index.js')
    const { loadConfig } = await import('../../core/repo.js')
    const { FsRemote } = await import('../../remotes/fs.js')
    const remote = await openRemote(repo.ctx, loadConfig(repo), r.name, { root: repo.root })
    if (remote instanceof FsRemote) remote.create({ parents: true })
  }
  if (argv.json) return printJson({ ...r, url: clean(r.url) })
  info(`added data remote ${r.name} (${r.url})${r.default ? ', the default' : ''}`)
}

async function remove(argv: ArgsOf<typeof removeBuilder>) {
  removeRemote(await cliRepo(), argv.name)
  if (argv.json) return printJson({ removed: argv.name })
  info(`removed data remote ${argv.name}`)
}

async function list(argv: { json?: boolean }) {
  const remotes = listRemotes(await cliRepo())
  if (argv.json) return printJson(remotes.map((r) => ({ ...r, url: clean(r.url), ...(r.endpoint ? { endpoint: clean(r.endpoint) } : {}) })))
  if (!remotes.length) return info('no data remotes; add one with `xp remote add NAME URL --default`')
  process.stdout.write(
    clean(
      renderTable(
        ['name', 'url', 'endpoint', 'default'],
        remotes.map((r) => [r.name, r.url, r.endpoint ?? '', r.default ? '*' : '']),
      ),
    ),
  )
}
