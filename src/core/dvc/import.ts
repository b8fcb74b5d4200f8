/**
 * `xp import dvc`: DVC experiments (`refs/exps/<2>/<38>/<name>`, the layout of DVC 2.x
 * and 3.x; DVC 2's checkpoint experiments are a chain of commits under one such ref, of
 * which the tip is imported) become xp runs:
 * - the run's tree is the experiment commit's tree (the same git objects: nothing copied),
 *   its parent the experiment's baseline, its author and dates the experiment commit's;
 * - params, metrics and series are read from the experiment's files as `xp run` reads a
 *   working tree (xp.yaml, else dvc.yaml, else params.yaml and DVCLive's files), and its
 *   `.dvc` files and dvc.lock give the data versions;
 * - the run id is derived from the experiment commit (its time, then bits of its hash), so
 *   a second import finds the run there and adds nothing; DVC's refs are only read.
 * Everything is read with a few bulk git reads (trees level by level, blobs once per
 * distinct blob) and written with one `hash-object` and one `update-ref --stdin`.
 */
import fs from 'node:fs'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { ensureXpDir, projectPrefix, type Repo } from '../repo.js'
import { git, readObjects } from '../git.js'
import { XpError } from '../errors.js'
import { parseStructured, flatten, type Flat } from '../params.js'
import { parseTree } from '../cache/reachable.js'
import { newRunId, RunRef, RUNS_PREFIX, validateRunName } from '../runs/ref.js'
import { encodeRecord, type RunRecord, type DataEntry } from '../runs/record.js'
import { DEFAULT_METRICS, DVCLIVE_PARAMS, DVCLIVE_SERIES, mergeFlat } from '../runs/record-run.js'
import { DVC_LOCK, DVC_PARAMS_DEFAULT, DVC_YAML, mergeDvcDefaults, parseDvcYaml, type DvcProject } from './project.js'
import { DVC_FILE_SUFFIX, dvcDeps, parseDvcFile, readDvcLock, type DvcEntry } from './data.js'

export const EXPS_NAMESPACE = 'refs/exps/'
/** DVC's namespaces under refs/exps that are not experiments (dvc/repo/experiments/refs.py). */
const NOT_EXPERIMENTS = new Set(['exec', 'celery', 'apply', 'temp', 'stash', 'runs'])

/** A DVC experiment ref as a value object: `refs/exps/ab/cdef.../name` (DVC's ExpRefInfo). */
export class ExpRef {
  private constructor(
    readonly baseline: string,
    readonly name: string,
  ) {}

  /** Parse a ref; null for DVC's other refs (exec, celery, stash, apply, temp) and anything else. */
  static parse(ref: string): ExpRef | null {
    if (!ref.startsWith(EXPS_NAMESPACE)) return null
    const parts = ref.slice(EXPS_NAMESPACE.length).split('/')
    if (parts.length !== 3 || NOT_EXPERIMENTS.has(parts[0])) return null
    const baseline = parts[0] + parts[1]
    if (!/^[0-9a-f]{2}$/.test(parts[0]) || !/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(baseline) || !parts[2]) return null
    return new ExpRef(baseline, parts[2])
  }

  toString(): string {
    return `${EXPS_NAMESPACE}${this.baseline.slice(0, 2)}/${this.baseline.slice(2)}/${this.name}`
  }
}

export interface ImportOptions {
  /** every experiment, whatever its baseline */
  all?: boolean
  /** experiment names, refs or commits, or revisions whose experiments to import (default: HEAD's) */
  revs?: string[]
}

export interface ImportedRun {
  name: string
  id: string
  experiment: string
  commit: string
}

export interface ImportResult {
  imported: ImportedRun[]
  /** experiments already imported (their run exists) */
  present: number
  /** experiments selected */
  total: number
}

interface Exp {
  ref: ExpRef
  refname: string
  commit: string
  tree: string
  time: number
  author: string
  committer: string
}

/** `**`, `*` and `?` globs as a regular expression over `/`-separated paths. */
export function globRegExp(glob: string): RegExp {
  let re = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]
    if (c === '*' && glob[i + 1] === '*') {
      i++
      if (glob[i + 1] === '/') (re += '(?:.*/)?'), i++
      else re += '.*'
    } else if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`)
}

/** Every blob path of each root tree, reading each distinct tree once, a level per bulk read. */
async function listTrees(repo: Pick<Repo, 'root' | 'ctx'>, roots: string[]): Promise<Map<string, Map<string, string>>> {
  const opts = { cwd: repo.root, env: repo.ctx.env }
  const entries = new Map<string, Array<{ mode: string; name: string; oid: string }>>()
  let level = [...new Set(roots)]
  while (level.length) {
    const todo = level.filter((t) => !entries.has(t))
    const objs = await readObjects(todo, opts)
    level = []
    objs.forEach((o, i) => {
      const list = o && o.type === 'tree' ? parseTree(o.content, todo[i].length / 2) : []
      entries.set(todo[i], list)
      for (const e of list) if (e.mode === '40000' && !entries.has(e.oid)) level.push(e.oid)
    })
    level = [...new Set(level)]
  }
  const flat = new Map<string, Array<[string, string]>>()
  const walk = (tree: string): Array<[string, string]> => {
    const memo = flat.get(tree)
    if (memo) return memo
    const out: Array<[string, string]> = []
    for (const e of entries.get(tree) ?? []) {
      if (e.mode === '40000') for (const [p, oid] of walk(e.oid)) out.push([`${e.name}/${p}`, oid])
      else if (e.mode === '100644' || e.mode === '100755') out.push([e.name, e.oid])
    }
    flat.set(tree, out)
    return out
  }
  return new Map(roots.map((r) => [r, new Map(walk(r))]))
}

interface Found extends Exp {
  parents: string[]
}

/**
 * The experiments to import, from refs/exps and the selection, and the run refs and names
 * the repository has: one `for-each-ref` reads both (with each commit's tree, author and
 * committer, so no commit object is read again).
 */
async function selectExperiments(
  repo: Pick<Repo, 'root' | 'ctx'>,
  opts: ImportOptions,
): Promise<{ exps: Found[]; runRefs: Set<string>; runNames: Set<string> }> {
  const gopts = { cwd: repo.root, env: repo.ctx.env }
  const format = '%(objectname)%00%(objecttype)%00%(refname)%00%(tree)%00%(parent)%00%(author)%00%(committer)%00%(contents:subject)'
  const { stdout } = await git(['for-each-ref', `--format=${format}`, EXPS_NAMESPACE, RUNS_PREFIX], gopts)
  const found: Found[] = []
  const runRefs = new Set<string>()
  const runNames = new Set<string>()
  for (const line of stdout.split('\n')) {
    const [commit, type, refname, tree, parent, author, committer, subject] = line.split('\0')
    if (!refname) continue
    if (refname.startsWith(RUNS_PREFIX)) {
      runRefs.add(refname)
      const m = /^xp: (\S+) /.exec(subject ?? '')
      if (m) runNames.add(m[1])
      continue
    }
    const ref = type === 'commit' ? ExpRef.parse(refname) : null
    const time = Number(/ (\d+) [-+]\d{4}$/.exec(committer ?? '')?.[1])
    if (ref && tree && author && committer && Number.isFinite(time))
      found.push({ ref, refname, commit, tree, author, committer, time, parents: parent ? parent.split(' ') : [] })
  }
  let chosen = found
  if (!opts.all) {
    const wanted = opts.revs?.length ? opts.revs : ['HEAD']
    const pick = new Set<string>()
    for (const rev of wanted) {
      const direct = found.filter((e) => e.ref.name === rev || e.refname === rev || (rev.length >= 4 && /^[0-9a-f]+$/.test(rev) && e.commit.startsWith(rev)))
      if (direct.length) {
        for (const e of direct) pick.add(e.refname)
        continue
      }
      const res = await git(['rev-parse', '-q', '--verify', `${rev}^{commit}`], { ...gopts, allowFail: true })
      const sha = res.code === 0 ? res.stdout.trim() : null
      const of = sha ? found.filter((e) => e.ref.baseline === sha) : []
      if (!sha && rev !== 'HEAD')
        throw new XpError('XP_DVC_EXP_NOT_FOUND', `no DVC experiment or revision matches "${rev}"`, {
          hint: 'name an experiment (`dvc exp list --all`), a baseline revision, or use --all',
        })
      for (const e of of) pick.add(e.refname)
    }
    chosen = found.filter((e) => pick.has(e.refname))
  }
  return { exps: chosen, runRefs, runNames }
}

/** The run id of an experiment commit: its time first (ids sort by time), then bits of its hash. */
export function importedRunId(commit: string, timeSeconds: number): string {
  return newRunId(new Date(timeSeconds * 1000), createHash('sha256').update(`dvc-exp:${commit}`).digest())
}

/** A DVC experiment name as an xp run name (one ref component of xp's characters). */
function runNameFor(name: string, taken: Set<string>): string {
  let base =
    name
      .replace(/[^a-zA-Z0-9._-]+/g, '-')
      .replace(/^[^a-zA-Z0-9]+/, '')
      .replace(/\.+$/, '')
      .slice(0, 56) || 'dvc-exp'
  try {
    validateRunName(base)
  } catch {
    base = `dvc-${base}`.slice(0, 56)
  }
  let out = base
  for (let i = 2; taken.has(out); i++) out = `${base}-${i}`
  taken.add(out)
  return out
}

const decodeYaml = (buf: Buffer | undefined, file: string): unknown => {
  if (!buf) return undefined
  try {
    return parseStructured(buf.toString('utf8'), file)
  } catch {
    return undefined
  }
}

/** Parse each distinct blob once (200 experiments share most files, and YAML parsing is most of an import's time). */
function memo<T>(fn: (oid: string) => T): (oid: string) => T {
  const cache = new Map<string, T>()
  return (oid) => {
    if (!cache.has(oid)) cache.set(oid, fn(oid))
    return cache.get(oid)!
  }
}

/**
 * Import DVC experiments as runs.
 *
 * @example
 * const { imported, present } = await importDvcExperiments(repo, { all: true })
 */
export async function importDvcExperiments(repo: Repo, opts: ImportOptions = {}): Promise<ImportResult> {
  const gopts = { cwd: repo.root, env: repo.ctx.env }
  const { exps, runRefs: existing, runNames: taken } = await selectExperiments(repo, opts)
  const todo = exps.map((e) => ({ ...e, id: importedRunId(e.commit, e.time) })).filter((e) => !existing.has(RunRef.fromId(e.id).toString()))
  const result: ImportResult = { imported: [], present: exps.length - todo.length, total: exps.length }
  if (!todo.length) return result

  const listings = await listTrees(
    repo,
    todo.map((e) => e.tree),
  )
  // The files every experiment needs, read once per distinct blob.
  const blobs = new Map<string, Buffer>()
  const readBlobs = async (oids: string[]) => {
    const want = [...new Set(oids)].filter((o) => !blobs.has(o))
    const objs = await readObjects(want, gopts)
    objs.forEach((o, i) => {
      if (o && o.type === 'blob') blobs.set(want[i], o.content)
    })
  }
  const firstPass = (files: Map<string, string>) =>
    [DVC_YAML, 'xp.yaml', DVC_LOCK, DVC_PARAMS_DEFAULT, DVCLIVE_PARAMS, ...DEFAULT_METRICS].map((f) => files.get(f)).filter((o): o is string => !!o)
  await readBlobs(
    todo.flatMap((e) => [...firstPass(listings.get(e.tree)!), ...[...listings.get(e.tree)!].filter(([p]) => p.endsWith(DVC_FILE_SUFFIX)).map(([, o]) => o)]),
  )

  const dvcByBlob = new Map<string, DvcProject | null>()
  const lockOf = memo((oid) => {
    const lock = readDvcLock(blobs.get(oid)?.toString('utf8') ?? '', DVC_LOCK)
    return { entries: lock.entries, command: lock.commands.join(' && ') }
  })
  const globsOf = memo((key) => (JSON.parse(key) as string[]).map(globRegExp))
  const dvcFileOf = memo((key) => parseDvcFile(blobs.get(key.slice(0, key.indexOf(' ')))?.toString('utf8') ?? '', key.slice(key.indexOf(' ') + 1)))
  const plans = todo.map((e) => {
    const files = listings.get(e.tree)!
    const dvcOid = files.get(DVC_YAML)
    let dvc: DvcProject | null = null
    if (dvcOid) {
      if (!dvcByBlob.has(dvcOid)) {
        try {
          dvcByBlob.set(dvcOid, parseDvcYaml(blobs.get(dvcOid)?.toString('utf8') ?? '', DVC_YAML))
        } catch {
          dvcByBlob.set(dvcOid, null)
        }
      }
      dvc = dvcByBlob.get(dvcOid) ?? null
    }
    const xp = decodeYaml(files.get('xp.yaml') ? blobs.get(files.get('xp.yaml')!) : undefined, 'xp.yaml') as Record<string, unknown> | undefined
    const list = (v: unknown) => (typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined)
    const config = mergeDvcDefaults(
      { params: list(xp?.params), metrics: list(xp?.metrics), series: list(xp?.series), artifacts: {} },
      dvc,
      files.has(DVC_PARAMS_DEFAULT),
    )
    const params = config.params ?? [...(files.has(DVC_PARAMS_DEFAULT) ? [DVC_PARAMS_DEFAULT] : []), ...(files.has(DVCLIVE_PARAMS) ? [DVCLIVE_PARAMS] : [])]
    const metrics = config.metrics ?? DEFAULT_METRICS.filter((f) => files.has(f))
    const globs = globsOf(JSON.stringify(config.series ?? [DVCLIVE_SERIES]))
    const series = [...files.keys()].filter((p) => globs.some((g) => g.test(p))).sort()
    // data versions: .dvc files and dvc.lock of the experiment, for paths its tree does not hold
    const entries: DvcEntry[] = []
    for (const [p, oid] of files) {
      if (p === DVC_LOCK) entries.push(...lockOf(oid).entries)
      else if (p.endsWith(DVC_FILE_SUFFIX)) entries.push(...dvcFileOf(`${oid} ${p}`))
    }
    const dirs = new Set(
      [...files.keys()].flatMap((p) =>
        p
          .split('/')
          .slice(0, -1)
          .map((_, i, a) => a.slice(0, i + 1).join('/')),
      ),
    )
    const deps = dvcDeps(entries, (p) => files.has(p) || dirs.has(p))
    const stageCmds = files.get(DVC_LOCK) ? lockOf(files.get(DVC_LOCK)!).command : ''
    return { e, files, params, metrics, series, deps, command: stageCmds || 'dvc exp run' }
  })
  await readBlobs(plans.flatMap((p) => [...p.params, ...p.metrics].map((f) => p.files.get(f)).filter((o): o is string => !!o)))

  const flatByBlob = memo((key): Flat | undefined => {
    const [oid, f] = [key.slice(0, key.indexOf(' ')), key.slice(key.indexOf(' ') + 1)]
    const doc = decodeYaml(blobs.get(oid), f)
    if (!doc || typeof doc !== 'object') return undefined
    try {
      return flatten(doc, '', {}, f)
    } catch {
      return undefined
    }
  })
  const flatOf = (p: (typeof plans)[number], f: string): Flat | undefined => (p.files.get(f) ? flatByBlob(`${p.files.get(f)} ${f}`) : undefined)
  ensureXpDir(repo)
  const tmp = path.join(repo.xpDir, 'tmp')
  fs.mkdirSync(tmp, { recursive: true })
  const marksFile = path.join(tmp, `import-marks-${process.pid}-${Date.now()}`)
  // the baseline is the experiment's parent (or, for DVC 2's checkpoints, an ancestor): ask git only about the others
  const unsure = [...new Set(plans.filter((p) => !p.e.parents.includes(p.e.ref.baseline)).map((p) => p.e.ref.baseline))]
  const haveBaseline = new Set([
    ...plans.flatMap((p) => (p.e.parents.includes(p.e.ref.baseline) ? [p.e.ref.baseline] : [])),
    ...(await readObjects(unsure, gopts)).flatMap((o) => (o && o.type === 'commit' ? [o.oid] : [])),
  ])
  const chunks: Buffer[] = []
  const made: Array<{ id: string; name: string; exp: Exp }> = []
  // the imported runs are the project's the import runs in (README "Monorepos")
  const project = projectPrefix(repo)
  plans.forEach((p, i) => {
    const name = runNameFor(p.e.ref.name, taken)
    const at = new Date(p.e.time * 1000).toISOString()
    const read = (files: string[]) => mergeFlat(files.flatMap((f) => (flatOf(p, f) ? [{ file: f, flat: flatOf(p, f)! }] : [])))
    const record: RunRecord = {
      xp: 1,
      id: p.e.id,
      name,
      status: 'succeeded',
      exit_code: 0,
      command: p.command,
      message: `imported from DVC experiment ${p.e.ref.name} (${p.e.commit.slice(0, 7)}, ${p.e.refname})`,
      started: at,
      ended: at,
      duration_s: 0,
      baseline: p.e.ref.baseline,
      branch: null,
      project,
      params: read(p.params),
      metrics: read(p.metrics),
      series: p.series,
      deps: p.deps as Record<string, DataEntry>,
      outs: {},
      env: {},
    }
    // git fast-import: one process writes every commit (the experiment's own tree as the
    // root, its author and committer) and creates the refs; `M 040000 <tree> ""` sets the root
    const message = Buffer.from(encodeRecord(record))
    const baseline = haveBaseline.has(p.e.ref.baseline) ? `from ${p.e.ref.baseline}\n` : ''
    chunks.push(
      Buffer.from(`commit ${RunRef.fromId(p.e.id).toString()}\nmark :${i + 1}\nauthor ${p.e.author}\ncommitter ${p.e.committer}\ndata ${message.length}\n`),
      message,
      Buffer.from(`\n${baseline}M 040000 ${p.e.tree} ""\n\n`),
    )
    made.push({ id: p.e.id, name, exp: p.e })
  })
  chunks.push(Buffer.from('done\n'))
  try {
    await git(['fast-import', '--quiet', '--done', `--export-marks=${marksFile}`], { ...gopts, input: Buffer.concat(chunks), errorCode: 'XP_IMPORT_FAILED' })
    const marks = new Map(
      fs
        .readFileSync(marksFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => [l.slice(1, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)] as [string, string]),
    )
    result.imported = made.map((c, i) => ({ name: c.name, id: c.id, experiment: c.exp.refname, commit: marks.get(String(i + 1)) ?? '' }))
    return result
  } finally {
    fs.rmSync(marksFile, { force: true })
  }
}
