/**
 * `xp remote add | list | remove`: the `remotes:` and `remote:` keys of xp.yaml, edited
 * as text (core/yaml-edit.ts) so every byte the edit does not touch survives. Nothing
 * secret is ever written: URLs carrying credentials are refused, and keys come from the
 * AWS chain or the environment at run time.
 */
import fs from 'node:fs'
import type { Repo } from '../repo.js'
import { loadConfig, configFile } from '../repo.js'
import { editText, type TextEdit } from '../yaml-edit.js'
import { parseStructured } from '../params.js'
import { writeFileAtomic } from '../fsutil.js'
import { XpError, EXIT, usageError } from '../errors.js'
import { remoteKind } from '../../remotes/index.js'

export interface RemoteListing {
  name: string
  url: string
  kind: 'fs' | 's3'
  default: boolean
  endpoint?: string
  region?: string
  profile?: string
}

export interface RemoteAddOptions {
  name: string
  url: string
  default?: boolean
  endpoint?: string
  region?: string
  profile?: string
  /** replace a remote of that name */
  force?: boolean
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/** Refuse a URL that carries a secret (user:password@, or a signed query string). */
export function checkNoSecret(url: string): void {
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/i.test(url) || /[?&](X-Amz-Signature|X-Amz-Credential|sig|token|secret|password)=/i.test(url))
    throw usageError(
      'XP_SECRET_IN_URL',
      'the URL carries credentials, and xp.yaml is tracked by git',
      'remove them from the URL; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE instead',
    )
}

/** Edit xp.yaml as text: every byte the edits do not touch stays as the user wrote it. */
function editConfig(repo: Pick<Repo, 'root' | 'project'>, edits: TextEdit[]): void {
  const file = configFile(repo)
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''
  const parsed = parseStructured(text, 'xp.yaml') // a broken file fails with its line, before any edit
  if (parsed !== null && parsed !== undefined && (typeof parsed !== 'object' || Array.isArray(parsed)))
    throw new XpError('XP_BAD_CONFIG', 'xp.yaml must be a mapping of settings')
  writeFileAtomic(file, editText(text, 'xp.yaml', edits))
}

/**
 * @example
 * addRemote(repo, { name: 'storage', url: 's3://bucket/xp', endpoint: 'http://127.0.0.1:9000', default: true })
 */
export function addRemote(repo: Pick<Repo, 'root' | 'project'>, opts: RemoteAddOptions): RemoteListing {
  if (!NAME_RE.test(opts.name))
    throw usageError('XP_BAD_REMOTE_NAME', `invalid remote name ${JSON.stringify(opts.name)}`, 'use letters, digits, ".", "_" and "-"')
  checkNoSecret(opts.url)
  remoteKind(opts.url)
  if (opts.endpoint) {
    checkNoSecret(opts.endpoint)
    if (!/^https?:\/\/[^\s]+$/.test(opts.endpoint)) throw usageError('XP_BAD_REMOTE_URL', `--endpoint must be an http(s) URL: ${opts.endpoint}`)
  }
  const config = loadConfig(repo)
  if (config.remotes[opts.name] && !opts.force)
    throw new XpError('XP_REMOTE_EXISTS', `a data remote named "${opts.name}" exists (${config.remotes[opts.name].url})`, {
      hint: 'remove it first (`xp remote remove NAME`) or pass --force',
    })
  const entry: Record<string, string> = { url: opts.url }
  if (opts.endpoint) entry.endpoint = opts.endpoint
  if (opts.region) entry.region = opts.region
  if (opts.profile) entry.profile = opts.profile
  const raw = (parseStructured(fs.existsSync(configFile(repo)) ? fs.readFileSync(configFile(repo), 'utf8') : '', 'xp.yaml') ?? {}) as Record<string, unknown>
  const remotesIsMap = raw.remotes !== null && typeof raw.remotes === 'object' && !Array.isArray(raw.remotes)
  editConfig(repo, [
    remotesIsMap ? { op: 'set', path: ['remotes', opts.name], value: entry } : { op: 'set', path: ['remotes'], value: { [opts.name]: entry } },
    ...(opts.default ? [{ op: 'set' as const, path: ['remote'], value: opts.name }] : []),
  ])
  return listRemotes(repo).find((r) => r.name === opts.name)!
}

export function removeRemote(repo: Pick<Repo, 'root' | 'project'>, name: string): void {
  const config = loadConfig(repo)
  if (!config.remotes[name])
    throw new XpError('XP_REMOTE_NOT_FOUND', `no data remote named "${name}"`, { exitCode: EXIT.domain, hint: 'list them with `xp remote list`' })
  const others = Object.keys(config.remotes).filter((n) => n !== name)
  editConfig(repo, [
    others.length ? { op: 'delete', path: ['remotes', name] } : { op: 'delete', path: ['remotes'] },
    ...(config.remote === name ? [{ op: 'delete' as const, path: ['remote'] }] : []),
  ])
}

export function listRemotes(repo: Pick<Repo, 'root' | 'project'>): RemoteListing[] {
  const config = loadConfig(repo)
  const names = Object.keys(config.remotes)
  const def = config.remote ?? (names.length === 1 ? names[0] : undefined)
  return names.map((name) => {
    const r = config.remotes[name]
    const out: RemoteListing = { name, url: r.url, kind: remoteKind(r.url), default: name === def }
    if (r.endpoint) out.endpoint = r.endpoint
    if (r.region) out.region = r.region
    if (r.profile) out.profile = r.profile
    return out
  })
}
