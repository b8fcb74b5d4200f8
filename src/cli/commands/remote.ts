import type { Argv } from 'yargs'
import { cliRepo } from '../context.js'
import { addRemote, listRemotes, removeRemote } from '../../core/sync/remote-config.js'
import { printJson, info, renderTable, clean } from '../output.js'
import { usageError } from '../../core/errors.js'

export const builder = (y: Argv) =>
  y
    .positional('action', { type: 'string', choices: ['add', 'list', 'ls', 'remove', 'rm'], describe: 'add, list or remove a data remote' })
    .positional('name', { type: 'string', describe: 'the remote name' })
    .positional('url', { type: 'string', describe: 'a folder, file:// URL or s3://BUCKET/PREFIX' })
    .option('default', { type: 'boolean', describe: 'make it the default data remote (`remote:` in xp.yaml)' })
    .option('endpoint', { type: 'string', describe: 'S3 endpoint URL (MinIO, Ceph, R2...); path-style addressing' })
    .option('region', { type: 'string', describe: 'S3 region' })
    .option('profile', { type: 'string', describe: 'AWS profile to use for this remote' })
    .option('force', { type: 'boolean', describe: 'replace a remote of the same name' })
    .option('create', { type: 'boolean', describe: 'create the folder of a folder remote (with its parents)' })
    .option('json', { type: 'boolean', describe: 'print JSON' })
    .example('xp remote add storage s3://bucket/xp --endpoint http://127.0.0.1:9000 --default', 'an S3-compatible store')
    .example('xp remote add shared /mnt/team/xp-data', 'a folder')

export async function handler(argv: {
  action: string
  name?: string
  url?: string
  default?: boolean
  endpoint?: string
  region?: string
  profile?: string
  force?: boolean
  json?: boolean
  create?: boolean
}) {
  const repo = await cliRepo()
  if (argv.action === 'add') {
    if (!argv.name || !argv.url) throw usageError('XP_USAGE', 'usage: xp remote add NAME URL [--default] [--endpoint URL] [--region R]')
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
    return info(`added data remote ${r.name} (${r.url})${r.default ? ', the default' : ''}`)
  }
  if (argv.action === 'remove' || argv.action === 'rm') {
    if (!argv.name) throw usageError('XP_USAGE', 'usage: xp remote remove NAME')
    removeRemote(repo, argv.name)
    if (argv.json) return printJson({ removed: argv.name })
    return info(`removed data remote ${argv.name}`)
  }
  const list = listRemotes(repo)
  if (argv.json) return printJson(list.map((r) => ({ ...r, url: clean(r.url), ...(r.endpoint ? { endpoint: clean(r.endpoint) } : {}) })))
  if (!list.length) return info('no data remotes; add one with `xp remote add NAME URL --default`')
  process.stdout.write(
    clean(
      renderTable(
        ['name', 'url', 'endpoint', 'default'],
        list.map((r) => [r.name, r.url, r.endpoint ?? '', r.default ? '*' : '']),
      ),
    ),
  )
}
