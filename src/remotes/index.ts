/**
 * Open a data remote by its name in xp.yaml `remotes:` or by URL: a folder (a path or
 * file:// URL) or S3 (`s3://bucket/prefix`). With no name, the default (`remote:`, or the
 * only remote there is).
 *
 * @example
 * const remote = await openRemote(repo.ctx, config, 'storage')
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Context } from '../core/context.js'
import type { ProjectConfig, RemoteConfig } from '../core/repo.js'
import { XpError } from '../core/errors.js'
import type { DataRemote } from './types.js'
import { FsRemote } from './fs.js'

export type { DataRemote } from './types.js'

export type RemoteKind = 'fs' | 's3'

export function remoteKind(url: string): RemoteKind {
  if (url.startsWith('s3://')) return 's3'
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith('file://'))
    throw new XpError('XP_BAD_REMOTE_URL', `unsupported data remote URL: ${url}`, {
      hint: 'use a folder path, file://PATH or s3://BUCKET/PREFIX',
    })
  return 'fs'
}

/** The name of the remote to use: the one asked for, else `remote:`, else the only one; null if none. */
export function defaultRemoteName(config: Pick<ProjectConfig, 'remote' | 'remotes'>, asked?: string): string | null {
  if (asked) return asked
  if (config.remote) return config.remote
  const names = Object.keys(config.remotes ?? {})
  return names.length === 1 ? (names[0] ?? null) : null
}

/** Resolve a name (or URL) to its settings. */
export function remoteSettings(config: Pick<ProjectConfig, 'remote' | 'remotes'>, nameOrUrl: string): { name: string; settings: RemoteConfig } {
  const settings = config.remotes?.[nameOrUrl]
  if (settings) {
    if (typeof settings.url !== 'string' || !settings.url) throw new XpError('XP_BAD_CONFIG', `xp.yaml: remote "${nameOrUrl}" has no url`)
    return { name: nameOrUrl, settings }
  }
  if (/[/:]/.test(nameOrUrl) || nameOrUrl.startsWith('.')) return { name: nameOrUrl, settings: { url: nameOrUrl } }
  throw new XpError('XP_REMOTE_NOT_FOUND', `no data remote named "${nameOrUrl}"`, {
    hint: 'list them with `xp remote list`, add one with `xp remote add NAME URL`',
  })
}

/**
 * Open a remote. `root` resolves relative folder URLs (the repository's top folder).
 */
export async function openRemote(
  ctx: Context,
  config: Pick<ProjectConfig, 'remote' | 'remotes'>,
  nameOrUrl: string,
  opts: { root: string; jobs?: number },
): Promise<DataRemote> {
  const { name, settings } = remoteSettings(config, nameOrUrl)
  const url = settings.url
  if (remoteKind(url) === 's3') {
    const { S3Remote } = await import('./s3.js')
    return new S3Remote({ name, url, endpoint: settings.endpoint, region: settings.region, profile: settings.profile, env: ctx.env, jobs: opts.jobs })
  }
  const dir = url.startsWith('file://') ? fileURLToPath(url) : path.resolve(opts.root, url)
  return new FsRemote(name, url, dir, ctx.env)
}
