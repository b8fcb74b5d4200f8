/**
 * A run's files for the run page (docs/ui.md#files): the run commit's tree, with pointer
 * files resolved to the data they stand for (a directory's manifest expanded from the
 * cache), and the bytes of one of them streamed from git or the cache.
 *
 * Only a path that is in this listing is ever served: the request names a path, the
 * server looks it up among the run's own entries and serves that entry's object. Paths
 * from pointers and manifests go through the same checks as checkout (safeRelPath: no
 * `..`, no absolute path, no `.git`). Content types come from a fixed table by extension;
 * HTML and anything unknown are never rendered (text/plain or a download), and every file
 * answer carries `nosniff` and a sandboxing Content-Security-Policy, so an SVG with a
 * script in it does nothing even when opened on its own.
 */
import path from 'node:path'
import { spawn } from 'node:child_process'
import type http from 'node:http'
import type { Repo } from '../core/repo.js'
import { git, gitEnv, type CatFileBatch } from '../core/git.js'
import { decodePointer, POINTER_SUFFIX } from '../core/cache/pointer.js'
import { decodeManifest } from '../core/cache/manifest.js'
import { checkRelPath } from '../core/safety/paths.js'
import { hasObject, openObject, readObject } from '../core/cache/objects.js'
import type { ListedRun } from '../core/runs/list.js'

export interface RunFile {
  path: string
  size: number
  /** git blob id, or the cache oid of data behind a pointer */
  oid: string
  source: 'git' | 'cache'
  /** the pointer file the data comes from */
  pointer?: string
  /** data whose object is not in this cache (pull it to see it) */
  missing?: boolean
}

/** Entries listed at most (a run with a million data files still answers quickly). */
export const MAX_ENTRIES = 20_000
const MAX_POINTER_BYTES = 4096

/**
 * Every file of the run: git's tree, pointers resolved (their data listed in their place).
 *
 * @example
 * const files = await runFiles(repo, run, batch) // [{ path: 'plots/cm.png', size: 5120, oid: '…', source: 'git' }]
 */
export async function runFiles(
  repo: Pick<Repo, 'root' | 'ctx' | 'cacheDir'>,
  run: Pick<ListedRun, 'commit'>,
  batch: CatFileBatch,
): Promise<{ files: RunFile[]; truncated: boolean }> {
  if (!run.commit) return { files: [], truncated: false }
  const res = await git(['ls-tree', '-r', '-l', '-z', '--full-tree', run.commit], { cwd: repo.root, env: repo.ctx.env, allowFail: true })
  if (res.code !== 0) return { files: [], truncated: false }
  const files: RunFile[] = []
  let truncated = false
  const push = (f: RunFile) => {
    if (files.length >= MAX_ENTRIES) truncated = true
    else files.push(f)
  }
  for (const rec of res.stdout.split('\0')) {
    if (!rec) continue
    const tab = rec.indexOf('\t')
    const [, type, oid, sizeText] = rec.slice(0, tab).split(/\s+/)
    const p = rec.slice(tab + 1)
    if (type !== 'blob') continue
    const size = Number(sizeText)
    if (p.endsWith(POINTER_SUFFIX) && size <= MAX_POINTER_BYTES) {
      const data = await resolvePointer(repo, batch, oid, p)
      if (data) {
        for (const d of data) push(d)
        continue
      }
    }
    push({ path: p, size, oid, source: 'git' })
  }
  return { files, truncated }
}

async function resolvePointer(repo: Pick<Repo, 'cacheDir'>, batch: CatFileBatch, blob: string, pointerFile: string): Promise<RunFile[] | null> {
  const obj = await batch.read(blob)
  if (obj?.type !== 'blob') return null
  try {
    const ptr = decodePointer(obj.content.toString('utf8'), pointerFile)
    const dir = path.posix.dirname(pointerFile)
    const dataPath = checkRelPath(dir === '.' ? ptr.path : `${dir}/${ptr.path}`, pointerFile)
    if (!ptr.oid.endsWith('.dir'))
      return [{ path: dataPath, size: ptr.size, oid: ptr.oid, source: 'cache', pointer: pointerFile, missing: !hasObject(repo.cacheDir, ptr.oid) || undefined }]
    let entries: ReturnType<typeof decodeManifest>
    try {
      entries = decodeManifest(readObject(repo.cacheDir, ptr.oid), ptr.oid)
    } catch {
      return [{ path: dataPath, size: ptr.size, oid: ptr.oid, source: 'cache', pointer: pointerFile, missing: true }]
    }
    return entries.map((e) => ({
      path: `${dataPath}/${checkRelPath(e.path, ptr.oid)}`,
      size: e.size,
      oid: e.oid,
      source: 'cache' as const,
      pointer: pointerFile,
      missing: !hasObject(repo.cacheDir, e.oid) || undefined,
    }))
  } catch {
    return null // not a pointer of ours: listed as the file it is
  }
}

const TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  bmp: 'image/bmp',
  svg: 'image/svg+xml',
  json: 'application/json; charset=utf-8',
  jsonl: 'text/plain; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  tsv: 'text/tab-separated-values; charset=utf-8',
  yaml: 'text/plain; charset=utf-8',
  yml: 'text/plain; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  log: 'text/plain; charset=utf-8',
  md: 'text/plain; charset=utf-8',
  py: 'text/plain; charset=utf-8',
  js: 'text/plain; charset=utf-8',
  ts: 'text/plain; charset=utf-8',
  toml: 'text/plain; charset=utf-8',
  cfg: 'text/plain; charset=utf-8',
  ini: 'text/plain; charset=utf-8',
  sh: 'text/plain; charset=utf-8',
  xp: 'text/plain; charset=utf-8',
  // markup from a run is shown as its text, never rendered
  html: 'text/plain; charset=utf-8',
  htm: 'text/plain; charset=utf-8',
  xml: 'text/plain; charset=utf-8',
}

/** The content type a file is served with (by its extension; unknown is a download). */
export function contentType(p: string): string {
  const base = path.posix.basename(p).toLowerCase()
  if (['dockerfile', 'makefile', '.gitignore', 'readme', 'license'].includes(base)) return TYPES.txt
  const ext = base.includes('.') ? base.slice(base.lastIndexOf('.') + 1) : ''
  return TYPES[ext] ?? 'application/octet-stream'
}

/** Headers of every file answer: no sniffing, and a policy under which nothing in it runs. */
export const FILE_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox",
  'referrer-policy': 'no-referrer',
  'cache-control': 'private, max-age=3600',
  'cross-origin-resource-policy': 'same-origin',
}

/**
 * Stream one listed file to the response: a git blob through `git cat-file blob`, data
 * from the cache from its object file. `download` adds Content-Disposition: attachment.
 */
export function sendRunFile(
  repo: Pick<Repo, 'root' | 'ctx' | 'cacheDir'>,
  f: RunFile,
  res: http.ServerResponse,
  opts: { download?: boolean; head?: boolean } = {},
): void {
  const type = contentType(f.path)
  const headers: Record<string, string | number> = { ...FILE_HEADERS, 'content-type': type, 'content-length': f.size, etag: `"${f.oid}"` }
  if (opts.download || type === 'application/octet-stream')
    headers['content-disposition'] = `attachment; filename="${path.posix.basename(f.path).replace(/[^\w.-]/g, '_')}"`
  if (f.source === 'cache') {
    const stream = openObject(repo.cacheDir, f.oid) // XP_CACHE_MISSING before any header is sent
    res.writeHead(200, headers)
    if (opts.head) return void (stream.destroy(), res.end())
    stream.on('error', () => res.destroy())
    stream.pipe(res)
    return
  }
  res.writeHead(200, headers)
  if (opts.head) return void res.end()
  const child = spawn('git', ['cat-file', 'blob', f.oid], {
    cwd: repo.root,
    env: gitEnv(repo.ctx.env) as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  child.stdout.pipe(res)
  child.on('error', () => res.destroy())
  res.on('close', () => child.exitCode === null && child.kill())
}
