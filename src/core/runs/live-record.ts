/**
 * Record a live run (core/runs/live.ts) as a run commit (docs/architecture.md#run-record), the way `xp run`
 * records its own: a commit on `refs/xp/runs/<id>` whose record carries the params,
 * final metrics, tags and experiment, whose tree is the parent's tree plus `.xp-run/`:
 * one series file per metric (`.xp-run/metrics/<key>.tsv`, every logged point), the
 * artifacts as a pointer (`.xp-run/artifacts.xp`, the directory in the cache and in the
 * record's `outs`, so push, pull, gc and fsck cover them) and what else was logged
 * (`.xp-run/mlflow.json`: dataset inputs, logged models).
 */
import { projectPrefix, type Repo } from '../repo.js'
import { readObjects, type CatFileBatch } from '../git.js'
import { typeValue, type Flat } from '../params.js'
import { parseTree } from '../cache/reachable.js'
import { putBytes } from '../cache/objects.js'
import { encodeManifest, manifestTotals, MODE_FILE } from '../cache/manifest.js'
import { encodePointer } from '../cache/pointer.js'
import { encodeRecord, decodeRecord, type DataEntry, type RunRecord, type RunStatus } from './record.js'
import { addToIndex, indexEntry } from './record-index.js'
import { canonicalJson } from './list.js'
import { currentBranch } from './record-run.js'
import { RunRef } from './ref.js'
import { createRef } from '../ref-files.js'
import { objectFormat, writeFileTree, writeCommitObject, gitIdentity } from './git-objects.js'
import type { LiveRun, Point } from './live.js'
import { Scrubber } from '../safety/secrets.js'

export const ARTIFACTS_OUT = '.xp-run/artifacts'
export const LIVE_SERIES_DIR = '.xp-run/metrics'

export interface RecordLiveOptions {
  status: RunStatus
  /** ms since the epoch */
  ended: number
  /** the commit the client says it ran at (e.g. MLflow's `mlflow.source.git.commit`): the parent when the repo has it */
  parentHint?: string
  /** what to record as the command */
  command: string
  /** a `git cat-file --batch` to read the parent with (it resolves names afresh on every read) */
  batch?: CatFileBatch
}

/**
 * A param as `-S` would type it (`0.1` a number, `true` a bool), but only when the typed
 * value prints back as the same text: `1e-3` or `True` stay strings, so a client that
 * logged a string gets exactly that string back.
 */
export function typeParam(raw: string): unknown {
  const v = typeValue(raw)
  if (typeof v === 'number' || typeof v === 'boolean') return String(v) === raw ? v : raw
  return raw
}

/** The value of each metric at its highest step (the last logged one at a tie). */
export function finalMetrics(metrics: Record<string, Point[]>): Flat {
  const out: Flat = {}
  for (const [k, pts] of Object.entries(metrics)) {
    let best: Point | undefined
    for (const p of pts) if (!best || p[0] >= best[0]) best = p
    if (best) out[k] = Number.isFinite(best[1]) ? best[1] : String(best[1])
  }
  return out
}

/** A metric's file name: the key with `/` and `%` escaped, so every key is one file. */
export function seriesFile(key: string): string {
  return `${LIVE_SERIES_DIR}/${key.replace(/%/g, '%25').replace(/\//g, '%2F')}.tsv`
}

export function seriesText(key: string, pts: Point[]): string {
  const rows = [...pts].sort((a, b) => a[0] - b[0] || a[2] - b[2]).map((p) => `${p[0]}\t${p[1]}\t${p[2]}`)
  return `step\t${key.replace(/[\t\n]/g, ' ')}\ttimestamp\n${rows.join('\n')}\n`
}

/** Parse a series file written by seriesText back into points. */
export function parseSeriesText(text: string): Point[] {
  const out: Point[] = []
  const lines = text.split('\n')
  for (let i = 1; i < lines.length; i++) {
    if (!lines[i]) continue
    const [s, v, t] = lines[i].split('\t')
    out.push([Number(s), Number(v), Number(t)])
  }
  return out
}

/**
 * Write the run's commit and ref. XP_REF_EXISTS when the run was recorded already (by
 * another server on the same repository).
 *
 * @example
 * const { record, commit } = await recordLiveRun(repo, store.get(id)!, { status: 'succeeded', ended: Date.now(), command: 'train.py' })
 */
export async function recordLiveRun(repo: Repo, run: LiveRun, opts: RecordLiveOptions): Promise<{ record: RunRecord; commit: string; ref: string }> {
  const hint = opts.parentHint && /^[0-9a-f]{7,64}$/i.test(opts.parentHint) ? opts.parentHint : null
  const specs = [...(hint ? [`${hint}^{commit}`, `${hint}^{tree}`] : []), 'HEAD^{commit}', 'HEAD^{tree}']
  // a long-lived `cat-file --batch` when the caller has one (the server), else one spawn
  const objs = opts.batch ? await Promise.all(specs.map((s) => opts.batch!.read(s))) : await readObjects(specs, { cwd: repo.root, env: repo.ctx.env })
  const [commitObj, treeObj] = hint && objs[0] && objs[1] ? [objs[0], objs[1]] : [objs.at(-2), objs.at(-1)]
  const parent = commitObj?.oid ?? null
  const format = await objectFormat(repo)
  const base = treeObj ? parseTree(treeObj.content, format === 'sha256' ? 32 : 20) : []

  const files = new Map<string, Buffer>()
  const series: string[] = []
  for (const [k, pts] of Object.entries(run.metrics)) {
    const f = seriesFile(k)
    files.set(f.slice('.xp-run/'.length), Buffer.from(seriesText(k, pts)))
    series.push(f)
  }
  const outs: Record<string, DataEntry> = {}
  const arts = Object.entries(run.artifacts)
  if (arts.length) {
    const entries = arts.map(([p, a]) => ({ path: p, oid: a.oid, size: a.size, mode: MODE_FILE }))
    const oid = await putBytes(repo.cacheDir, encodeManifest(entries), { dir: true })
    const { size, files: n } = manifestTotals(entries)
    outs[ARTIFACTS_OUT] = { oid, size, files: n }
    files.set('artifacts.xp', Buffer.from(encodePointer({ path: 'artifacts', oid, size, files: n })))
  }
  // what a client logged is pushed with the run: string params, tags, the command and the
  // logged models/inputs pass the secret scrubber, as `xp run`'s record does (core/safety)
  const scrubber = Scrubber.forEnv(repo.ctx.env)
  if (run.extra.length) files.set('mlflow.json', Buffer.from(scrubber.text(JSON.stringify({ logged: run.extra }, null, 1) + '\n')))
  const xpRun = files.size ? writeFileTree(repo.commonDir, format, files) : null
  const entries = base.filter((e) => e.name !== '.xp-run')
  if (xpRun) entries.push({ mode: '40000', name: '.xp-run', oid: xpRun })
  const tree = writeFileTree(repo.commonDir, format, new Map(), entries)

  const params: Flat = {}
  for (const [k, v] of Object.entries(run.params)) {
    const typed = typeParam(v) as Flat[string]
    params[k] = typeof typed === 'string' ? scrubber.text(typed) : typed
  }
  const tags: Record<string, string> = {}
  for (const [k, v] of Object.entries(run.tags)) tags[k] = scrubber.text(v)
  const record: RunRecord = {
    xp: 1,
    id: run.id,
    name: run.name,
    status: opts.status,
    exit_code: null,
    command: scrubber.text(opts.command),
    started: new Date(run.started).toISOString(),
    ended: new Date(opts.ended).toISOString(),
    duration_s: Math.max(0, Math.round(opts.ended - run.started) / 1000),
    baseline: parent,
    branch: parent && !hint ? currentBranch(repo) : null,
    project: run.project ?? projectPrefix(repo),
    experiment: run.experiment,
    params,
    metrics: finalMetrics(run.metrics),
    tags,
    series: series.sort(),
    deps: {},
    outs,
    env: run.user ? { user: run.user } : {},
  }
  // the commit object is written here too, as `git commit-tree` would (its identity asked once)
  const who = await gitIdentity(repo)
  const commit = writeCommitObject(repo.commonDir, format, {
    tree,
    parent,
    ...who,
    authorDate: new Date(run.started),
    commitDate: repo.ctx.now(),
    message: encodeRecord(record),
  })
  const ref = RunRef.fromId(run.id).toString()
  await createRef(repo, ref, commit, `xp mlflow ${run.name}`)
  // the listing (xp show, the API's search) then finds it without reading the commit
  addToIndex(repo.commonDir, [
    [`${commit} ${ref}`, indexEntry(Buffer.from(canonicalJson({ ...decodeRecord(encodeRecord(record)), commit, ref })), record.project)],
  ])
  return { record, commit, ref }
}
