/**
 * Data that DVC tracks (`.dvc` files, `dvc.lock`), recorded as a run's data versions: each
 * entry's hash and size become a dep of the run, `{"oid": "md5:<hash>", "size", "files"}`.
 * xp never reads, hashes, copies or caches DVC's bytes: DVC has them (its cache, its
 * remote), and `dvc pull` / `dvc checkout` restore them. The `md5:` prefix keeps these
 * oids apart from xp's own (32 hex characters too): gc, push, pull and fsck skip them.
 */
import { parseStructured } from '../params.js'
import type { DataEntry } from '../runs/record.js'
import { DVC_LOCK, DVC_YAML, parseDvcYaml } from './project.js'

export const DVC_OID_PREFIX = 'md5:'
export const DVC_FILE_SUFFIX = '.dvc'

/** True for a data version DVC recorded (`md5:...`, `etag:...`), which xp's cache never holds. */
export function isDvcOid(oid: string): boolean {
  return /^(md5|etag|checksum):/.test(oid)
}

export interface DvcEntry {
  /** repo-relative, `/`-separated */
  path: string
  entry: DataEntry
}

function posixJoin(dir: string, p: string): string | null {
  const parts: string[] = dir ? dir.split('/') : []
  for (const seg of p.replace(/\\/g, '/').split('/')) {
    if (seg === '' || seg === '.') continue
    if (seg === '..') {
      if (!parts.length) return null
      parts.pop()
    } else parts.push(seg)
  }
  return parts.length ? parts.join('/') : null
}

/** One DVC output/dependency record (`{path, md5|etag|checksum, size, nfiles}`) as a data entry. */
function toEntry(dir: string, o: unknown): DvcEntry | null {
  if (!o || typeof o !== 'object') return null
  const r = o as Record<string, unknown>
  if (typeof r.path !== 'string' || /^[a-z][a-z0-9+.-]*:\/\//i.test(r.path)) return null // a URL: not in the repo
  const path = posixJoin(dir, r.path)
  if (!path) return null
  const algo = typeof r.md5 === 'string' ? 'md5' : typeof r.etag === 'string' ? 'etag' : typeof r.checksum === 'string' ? 'checksum' : null
  if (!algo) return null
  const entry: DataEntry = { oid: `${algo}:${r[algo] as string}`, size: typeof r.size === 'number' ? r.size : 0 }
  if (typeof r.nfiles === 'number') entry.files = r.nfiles
  return { path, entry }
}

/**
 * The outs of one `.dvc` file (paths relative to its folder, made repo-relative).
 *
 * @example
 * parseDvcFile('outs:\n- md5: 4e42...\n  size: 40\n  path: model.pkl\n', 'models/model.pkl.dvc')
 * // [{ path: 'models/model.pkl', entry: { oid: 'md5:4e42...', size: 40 } }]
 */
export function parseDvcFile(text: string, rel: string): DvcEntry[] {
  let doc: unknown
  try {
    doc = parseStructured(text, rel)
  } catch {
    return [] // a broken .dvc file is DVC's to report
  }
  if (!doc || typeof doc !== 'object') return []
  const dir = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : ''
  const outs = (doc as Record<string, unknown>).outs
  return (Array.isArray(outs) ? outs : []).map((o) => toEntry(dir, o)).filter((e): e is DvcEntry => e !== null)
}

export interface DvcLock {
  /** the deps and outs of every stage */
  entries: DvcEntry[]
  /** each stage's command, in order */
  commands: string[]
}

/**
 * Read a `dvc.lock` (DVC 1.x, 2.x and 3.x): the deps and outs of every stage, and the
 * stages' commands.
 *
 * @example
 * readDvcLock('schema: "2.0"\nstages:\n  train:\n    cmd: python train.py\n    outs:\n    - path: model.pkl\n      md5: ab\n      size: 9\n')
 * // { entries: [{ path: 'model.pkl', entry: { oid: 'md5:ab', size: 9 } }], commands: ['python train.py'] }
 */
export function readDvcLock(text: string, rel = 'dvc.lock'): DvcLock {
  const dir = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : ''
  const doc = fastLock(text) ?? yamlLock(text, rel)
  const out: DvcLock = { entries: [], commands: [] }
  if (!doc || typeof doc !== 'object') return out
  const d = doc as Record<string, unknown>
  // schema 2.0: {schema, stages: {name: ...}}; DVC 1.x: {name: ...} at the top
  const stages = d.stages && typeof d.stages === 'object' ? (d.stages as Record<string, unknown>) : d
  for (const s of Object.values(stages)) {
    if (!s || typeof s !== 'object') continue
    const st = s as Record<string, unknown>
    if (typeof st.cmd === 'string') out.commands.push(st.cmd)
    else if (Array.isArray(st.cmd)) out.commands.push(...st.cmd.filter((c): c is string => typeof c === 'string'))
    for (const key of ['deps', 'outs'] as const) {
      const list = st[key]
      for (const o of Array.isArray(list) ? list : []) {
        const e = toEntry(dir, o)
        if (e) out.entries.push(e)
      }
    }
  }
  return out
}

/** The deps and outs of every stage in a `dvc.lock` (see readDvcLock). */
export function parseDvcLock(text: string, rel = 'dvc.lock'): DvcEntry[] {
  return readDvcLock(text, rel).entries
}

function yamlLock(text: string, rel: string): unknown {
  try {
    return parseStructured(text, rel)
  } catch {
    return null
  }
}

/**
 * The lock as DVC writes it (block mappings, `- ` list items, plain or simply quoted
 * scalars), read line by line: the yaml library takes most of an import's time on 200
 * locks. Anything else (flow style, block scalars, anchors, escapes) returns null and the
 * yaml library reads the file.
 */
export function fastLock(text: string): Record<string, unknown> | null {
  const root: Record<string, unknown> = {}
  // open containers: a mapping with its keys' column, or a list with its dashes' column
  const stack: Array<{ indent: number; node: Record<string, unknown> | unknown[] }> = [{ indent: 0, node: root }]
  const lines = text
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() && !l.trimStart().startsWith('#'))
  for (let i = 0; i < lines.length; i++) {
    let col = lines[i].length - lines[i].trimStart().length
    let line = lines[i].trimStart()
    const isItem = line.startsWith('- ')
    while (stack.length > 1) {
      const t = stack[stack.length - 1]
      if (t.indent > col || (!isItem && Array.isArray(t.node) && t.indent === col)) stack.pop()
      else break
    }
    let top = stack[stack.length - 1]
    if (isItem) {
      if (!Array.isArray(top.node) || top.indent !== col) return null
      line = line.slice(2)
      if (!/^[^'"]*: |^[^'"]*:$/.test(line)) {
        const v = lockScalar(line)
        if (v === undefined) return null
        top.node.push(v)
        continue
      }
      const item: Record<string, unknown> = {}
      top.node.push(item)
      col += 2
      stack.push({ indent: col, node: item })
      top = stack[stack.length - 1]
    } else if (Array.isArray(top.node) || top.indent !== col) return null
    const kv = /^([^\s:'"#-][^:]*|'[^']*'|"[^"\\]*"):(?: (.*))?$/.exec(line)
    if (!kv) return null
    const map = top.node as Record<string, unknown>
    const key = kv[1].replace(/^(['"])(.*)\1$/, '$2')
    const rest = (kv[2] ?? '').trim()
    if (rest !== '') {
      const v = lockScalar(rest)
      if (v === undefined) return null
      map[key] = v
      continue
    }
    const next = lines[i + 1] ?? ''
    const nCol = next.length - next.trimStart().length
    if (next.trimStart().startsWith('- ') && nCol >= col) {
      const list: unknown[] = []
      map[key] = list
      stack.push({ indent: nCol, node: list })
    } else if (nCol > col) {
      const child: Record<string, unknown> = {}
      map[key] = child
      stack.push({ indent: nCol, node: child })
    } else map[key] = null
  }
  return root
}

/** A plain or simply quoted YAML scalar as YAML 1.2's core schema reads it; undefined for anything else. */
function lockScalar(raw: string): unknown {
  if (raw === 'null' || raw === '~') return null
  if (/^'[^']*'$/.test(raw) || /^"[^"\\]*"$/.test(raw)) return raw.slice(1, -1)
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(raw)) return Number(raw)
  if (/^(true|True|TRUE|false|False|FALSE)$/.test(raw)) return raw.toLowerCase() === 'true'
  if (/^[[\]{}&*!|>'"%@`#,?:-]/.test(raw) || /: |\s#|:$/.test(raw)) return undefined
  return raw
}

/**
 * Merge DVC's entries into a run's deps: only paths git does not hold (DVC's data, not
 * `train.py` that a lock also names), and never over a dep xp hashed itself. Pure.
 */
export function dvcDeps(entries: DvcEntry[], inGit: (path: string) => boolean, own: Record<string, DataEntry> = {}): Record<string, DataEntry> {
  const out: Record<string, DataEntry> = {}
  for (const e of entries) {
    if (own[e.path] || inGit(e.path)) continue
    out[e.path] = e.entry
  }
  return out
}

/**
 * Where a DVC project records an artifact declared in its dvc.yaml (`artifacts: {name: {path}}`,
 * as GTO and DVC Studio read it): the path, relative to the dvc.yaml's folder, and its version
 * from `PATH.dvc` or the dvc.lock out of that path. `read` returns a file of the commit.
 *
 * @example
 * await dvcArtifact((f) => readBlob(commit, f), '', 'churn') // { path: 'model.pkl', oid: 'md5:4e42...', size: 40 }
 */
export async function dvcArtifact(
  read: (file: string) => Promise<string | null>,
  dir: string,
  name: string,
): Promise<{ path: string; oid: string | null; size: number | null; files?: number } | null> {
  const join = (p: string) => posixJoin(dir, p)
  const text = await read(join(DVC_YAML) ?? DVC_YAML)
  if (text === null) return null
  let rel: string | undefined
  try {
    rel = parseDvcYaml(text).artifacts[name]?.path
  } catch {
    return null
  }
  const file = rel ? join(rel) : null
  if (!file) return null
  const dvcFile = await read(file + DVC_FILE_SUFFIX)
  const lock = dvcFile === null ? await read(join(DVC_LOCK) ?? DVC_LOCK) : null
  const entries = dvcFile !== null ? parseDvcFile(dvcFile, file + DVC_FILE_SUFFIX) : lock !== null ? parseDvcLock(lock, join(DVC_LOCK) ?? DVC_LOCK) : []
  const hit = entries.find((e) => e.path === file)
  return hit
    ? { path: file, oid: hit.entry.oid, size: hit.entry.size, ...(hit.entry.files !== undefined ? { files: hit.entry.files } : {}) }
    : { path: file, oid: null, size: null }
}
