/**
 * The MLflow tracking API over xp, as plain core functions (the HTTP adapter in
 * src/ui/mlflow.ts only decodes requests and encodes answers). A run created through the
 * API is live in the live-run store (.xp/live/) from `runs/create` on; `runs/update`
 * with FINISHED/FAILED/KILLED records it as a run commit (core/runs/live-record.ts).
 * Everything recorded (also runs `xp run` made) is readable: get, search, history,
 * artifacts. See docs/mlflow.md for the mapping.
 */
import fs from 'node:fs'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { Readable } from 'node:stream'
import { projectPrefix, type Repo } from '../repo.js'
import { readObjects, CatFileBatch } from '../git.js'
import { XpError } from '../errors.js'
import { inScope, type ListedRun, type ListScope } from '../runs/list.js'
import { LiveStore, metricEvent, type LiveEvent, type LiveRun } from '../runs/live.js'
import { recordLiveRun, seriesFile, parseSeriesText, ARTIFACTS_OUT } from '../runs/live-record.js'
import { newRunId, generateName, isRunId } from '../runs/ref.js'
import { putFile, tempPath, openObject, hasObject } from '../cache/objects.js'
import { safeRelPath, type ManifestEntry } from '../cache/manifest.js'
import { wantedEntries } from '../cache/materialize.js'
import { remoteFetcher } from '../sync/data.js'
import { badParam, exists, notFound } from './errors.js'
import { DEFAULT_EXPERIMENT, DEFAULT_EXPERIMENT_ID, ExperimentStore, experimentId } from './experiments.js'
import { GIT_COMMIT_TAG, RUN_NAME_TAG, liveView, recordedView, runInfo, runJson, xpStatus, type RunView } from './mapping.js'
import { searchRuns, metricNumber, nameFilter } from './search.js'

export interface MlflowServiceOptions {
  /** every recorded run of the repository, newest first (the server passes its cached listing) */
  recorded: () => Promise<ListedRun[]>
  /**
   * Which runs `runs/search` lists: the project the server was started in (and runs without
   * a project), or every project's (the default). A run is got, logged to or read by its
   * id whatever its project, and names stay unique across the repository.
   */
  scope?: ListScope
  /** make the next `recorded()` look at the refs again (a run may have landed from elsewhere) */
  refresh?: () => void
}

type KV = { key?: unknown; value?: unknown }

const str = (v: unknown, name: string, required = true): string => {
  if (v === undefined || v === null || v === '') {
    if (required) throw badParam(`Missing value for required parameter '${name}'`)
    return ''
  }
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
    throw badParam(`Invalid value ${JSON.stringify(v)} for parameter '${name}': a string is expected`)
  return String(v)
}
const num = (v: unknown, name: string): number => {
  if (typeof v === 'number') return v
  if (typeof v === 'string' && v.trim() !== '' && (Number.isFinite(Number(v)) || /^-?(nan|inf(inity)?)$/i.test(v)))
    return Number(v.replace(/^(-?)inf$/i, '$1Infinity'))
  throw badParam(`Invalid value ${JSON.stringify(v)} for parameter '${name}': a number is expected`)
}
const int = (v: unknown, name: string, dflt: number): number => {
  if (v === undefined || v === null || v === '') return dflt
  const n = num(v, name)
  if (!Number.isSafeInteger(n)) throw badParam(`Invalid value ${JSON.stringify(v)} for parameter '${name}': an integer is expected`)
  return n
}
const kvList = (v: unknown, name: string): Array<{ key: string; value: string }> => {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) throw badParam(`Invalid value for parameter '${name}': a list is expected`)
  return v.map((x: KV, i) => {
    if (!x || typeof x !== 'object') throw badParam(`Invalid value for parameter '${name}[${i}]'`)
    return { key: checkKey(str(x.key, `${name}[${i}].key`), name), value: str(x.value, `${name}[${i}].value`, false) }
  })
}
/** MLflow's key rule, plus no line breaks: keys name files and record lines. */
function checkKey(k: string, what: string): string {
  if (k.length > 250 || /[\n\r\t\0]/.test(k) || k.startsWith('/') || k.split('/').some((s) => s === '..' || s === '.'))
    throw badParam(`Invalid ${what} name ${JSON.stringify(k.slice(0, 100))}: names are at most 250 characters, without line breaks or '..'`)
  return k
}
const PARAM_VALUE_MAX = 6000
const TAG_VALUE_MAX = 8000

/** An xp run name from an MLflow run name: one ref component, unique among `taken`. */
export function xpName(wanted: string | undefined, taken: Set<string>): string {
  let base = (wanted ?? '')
    .replace(/[^a-zA-Z0-9._-]+/g, '-')
    .replace(/\.\.+/g, '.')
    .replace(/^[^a-zA-Z0-9]+/, '')
    .replace(/[.-]+$/, '')
    .slice(0, 56)
  if (base.endsWith('.lock') || isRunId(base.toLowerCase())) base = `${base}-run`
  if (!base) {
    base = generateName()
    for (let i = 0; taken.has(base) && i < 20; i++) base = generateName()
  }
  let name = base
  for (let n = 2; taken.has(name); n++) name = `${base}-${n}`
  return name
}

export class MlflowService {
  readonly live: LiveStore
  readonly experiments: ExperimentStore
  private lifecycleFile: string
  /** runs being recorded in the background, by id */
  private finishing = new Map<string, Promise<void>>()
  /** one recording at a time (git's ref updates and our objects stay simple to reason about) */
  private queue: Promise<unknown> = Promise.resolve()
  /** runs this server recorded, until the listing has them (saves relisting after every run) */
  private recordedHere = new Map<string, RunView>()
  /** names in use: from the first listing, then every create */
  private names: Set<string> | null = null
  private viewCache = new WeakMap<ListedRun[], { views: RunView[]; byId: Map<string, RunView> }>()

  constructor(
    readonly repo: Repo,
    private opts: MlflowServiceOptions,
  ) {
    this.live = new LiveStore(repo.xpDir)
    this.experiments = new ExperimentStore(repo.xpDir)
    this.lifecycleFile = path.join(repo.xpDir, 'mlflow', 'lifecycle.jsonl')
  }

  private catFile: CatFileBatch | null = null
  /** one `git cat-file --batch` for every recording, made again if it died */
  private batch(): CatFileBatch {
    this.catFile ??= new CatFileBatch({ cwd: this.repo.root, env: this.repo.ctx.env })
    return this.catFile
  }

  /** Runs this server recorded that the listing may not show yet (it refreshes every half second). */
  recentRuns(): ListedRun[] {
    return [...this.recordedHere.values()].map((v) => v.recorded!).filter(Boolean)
  }

  /** Stop the helper process (the server calls this when it closes). */
  close(): void {
    this.catFile?.close()
    this.catFile = null
  }

  private now(): number {
    return this.repo.ctx.now().getTime()
  }

  // ---- lifecycle (soft delete of recorded runs: local, like MLflow's trash) ----
  private deletedRuns(): Set<string> {
    const out = new Set<string>()
    let text = ''
    try {
      text = fs.readFileSync(this.lifecycleFile, 'utf8')
    } catch {
      return out
    }
    for (const l of text.split('\n')) {
      try {
        const ev = JSON.parse(l) as { id: string; deleted: boolean }
        if (ev.deleted) out.add(ev.id)
        else out.delete(ev.id)
      } catch {
        // torn line
      }
    }
    return out
  }

  /** the views of the last listing, without asking whether it is still current (null before the first) */
  private lastViews: { views: RunView[]; byId: Map<string, RunView> } | null = null

  private async recordedViews(): Promise<{ views: RunView[]; byId: Map<string, RunView> }> {
    const list = await this.opts.recorded()
    let v = this.viewCache.get(list)
    if (!v) {
      const views = list.map((r) => recordedView(r, 'active'))
      v = { views, byId: new Map(views.map((x) => [x.run_id, x])) }
      this.viewCache.set(list, v)
      for (const id of this.recordedHere.keys()) if (v.byId.has(id)) this.recordedHere.delete(id)
    }
    this.lastViews = v
    return v
  }

  /** Every run as MLflow sees it: live first, then recorded (a live leftover whose record exists is dropped). */
  private async allViews(): Promise<RunView[]> {
    const { views, byId } = await this.recordedViews()
    const deleted = this.deletedRuns()
    const live = this.live
      .list()
      .filter((r) => !byId.has(r.id))
      .map((r) => liveView(r, r.deleted ? 'deleted' : 'active'))
    const here = [...this.recordedHere.values()].filter((v) => !byId.has(v.run_id) && !live.some((l) => l.run_id === v.run_id))
    const all = live.concat(here, views)
    if (!deleted.size) return all
    return all.map((v) => (deleted.has(v.run_id) ? { ...v, lifecycle_stage: 'deleted' } : v))
  }

  private async view(runId: string): Promise<RunView> {
    const id = str(runId, 'run_id')
    const l = isRunId(id) ? this.live.get(id) : null
    const deleted = () => this.deletedRuns().has(id)
    if (l) return liveView(l, deleted() ? 'deleted' : 'active')
    let v = this.recordedHere.get(id) ?? (await this.recordedViews()).byId.get(id)
    if (!v) {
      this.opts.refresh?.()
      v = (await this.recordedViews()).byId.get(id)
    }
    if (!v) throw notFound(`Run with id=${id} not found`)
    return deleted() ? { ...v, lifecycle_stage: 'deleted' } : v
  }

  private liveRun(runId: unknown): LiveRun {
    const id = str(runId, 'run_id')
    const r = isRunId(id) ? this.live.get(id) : null
    if (!r) {
      throw new XpError('XP_MLFLOW_RUN_RECORDED', `Run ${id} is not active: it was recorded (finished) or does not exist; a recorded run cannot change`, {
        data: { mlflow: 'INVALID_PARAMETER_VALUE' },
      })
    }
    if (r.end) throw badParam(`The run ${id} must be in the 'active' state; it has ended (${r.end.status})`)
    return r
  }

  /** Like liveRun, but 404 when the run does not exist at all. */
  private async activeRun(runId: unknown): Promise<LiveRun> {
    const id = str(runId, 'run_id')
    const r = isRunId(id) ? this.live.get(id) : null
    if (!r) await this.view(id) // 404 when it does not exist
    return this.liveRun(id)
  }

  // ---- experiments ----
  /**
   * Every experiment: Default, those made here, those of live and recorded runs. With
   * `cached`, the last listing is used as it is (the hot path of runs/create and
   * experiments/get: a name not found that way is looked up again, fresh).
   */
  private async experimentNames(cached = false): Promise<Map<string, { created: number; deleted: boolean; tags: Record<string, string> }>> {
    const out = new Map<string, { created: number; deleted: boolean; tags: Record<string, string> }>()
    out.set(DEFAULT_EXPERIMENT, { created: 0, deleted: false, tags: {} })
    for (const r of this.live.list()) if (!out.has(r.experiment)) out.set(r.experiment, { created: r.started, deleted: false, tags: {} })
    const views = cached && this.lastViews ? [...this.lastViews.views, ...this.recordedHere.values()] : (await this.recordedViews()).views
    for (const v of views) {
      const cur = out.get(v.experiment)
      if (!cur) out.set(v.experiment, { created: v.start_time, deleted: false, tags: {} })
      else if (v.start_time < cur.created && v.experiment !== DEFAULT_EXPERIMENT) cur.created = v.start_time
    }
    for (const e of this.experiments.read().values()) {
      const cur = out.get(e.name)
      out.set(e.name, { created: cur ? Math.min(cur.created, e.created) : e.created, deleted: !!e.deleted, tags: e.tags ?? {} })
    }
    return out
  }

  private experimentJson(name: string, e: { created: number; deleted: boolean; tags: Record<string, string> }): Record<string, unknown> {
    const id = experimentId(name)
    const out: Record<string, unknown> = {
      experiment_id: id,
      name,
      artifact_location: `mlflow-artifacts:/${id}`,
      lifecycle_stage: e.deleted ? 'deleted' : 'active',
      last_update_time: e.created,
      creation_time: e.created,
    }
    const tags = Object.entries(e.tags)
    if (tags.length) out.tags = tags.map(([key, value]) => ({ key, value }))
    return out
  }

  private async experimentById(id: unknown): Promise<string> {
    const want = str(id, 'experiment_id')
    for (const name of (await this.experimentNames(true)).keys()) if (experimentId(name) === want) return name
    for (const name of (await this.experimentNames()).keys()) if (experimentId(name) === want) return name
    throw notFound(`No Experiment with id=${want} exists`)
  }

  async getExperimentByName(q: { experiment_name?: unknown }) {
    const name = str(q.experiment_name, 'experiment_name')
    const e = (await this.experimentNames(true)).get(name) ?? (await this.experimentNames()).get(name)
    if (!e) throw notFound(`Could not find experiment with name '${name}'`)
    return { experiment: this.experimentJson(name, e) }
  }

  async getExperiment(q: { experiment_id?: unknown }) {
    const name = await this.experimentById(q.experiment_id)
    return { experiment: this.experimentJson(name, (await this.experimentNames(true)).get(name) ?? (await this.experimentNames()).get(name)!) }
  }

  async createExperiment(b: { name?: unknown; tags?: unknown }) {
    const name = str(b.name, 'name')
    if (name.length > 500 || /[\n\r\0]/.test(name)) throw badParam(`Invalid experiment name ${JSON.stringify(name.slice(0, 100))}`)
    const tags = kvList(b.tags, 'tags')
    const known = await this.experimentNames()
    if (known.has(name)) throw exists(`Experiment '${name}' already exists.`)
    this.experiments.append({ e: 'create', name, created: this.now() })
    for (const t of tags) this.experiments.append({ e: 'tag', name, k: t.key, v: t.value })
    return { experiment_id: experimentId(name) }
  }

  async searchExperiments(b: { max_results?: unknown; filter?: unknown; view_type?: unknown; order_by?: unknown; page_token?: unknown }) {
    const view = typeof b.view_type === 'string' ? b.view_type : 'ACTIVE_ONLY'
    let list = [...(await this.experimentNames())].filter(([, e]) => (view === 'ALL' ? true : view === 'DELETED_ONLY' ? e.deleted : !e.deleted))
    const filter = typeof b.filter === 'string' ? b.filter.trim() : ''
    if (filter) {
      const match = nameFilter(filter, 'experiments', { attributes: true })
      list = list.filter(([n]) => match(n))
    }
    list.sort((a, b2) => b2[1].created - a[1].created || (a[0] < b2[0] ? -1 : 1))
    const max = int(b.max_results, 'max_results', 1000)
    const offset = b.page_token ? Number(Buffer.from(String(b.page_token), 'base64').toString()) || 0 : 0
    const page = list.slice(offset, offset + max)
    const out: Record<string, unknown> = { experiments: page.map(([n, e]) => this.experimentJson(n, e)) }
    if (offset + max < list.length) out.next_page_token = Buffer.from(String(offset + max)).toString('base64')
    return out
  }

  async deleteExperiment(b: { experiment_id?: unknown }, deleted = true) {
    const name = await this.experimentById(b.experiment_id)
    if (name === DEFAULT_EXPERIMENT && deleted) throw badParam('Cannot delete the default experiment')
    if (!this.experiments.read().has(name)) this.experiments.append({ e: 'create', name, created: (await this.experimentNames()).get(name)!.created })
    this.experiments.append({ e: deleted ? 'delete' : 'restore', name })
    return {}
  }

  async setExperimentTag(b: { experiment_id?: unknown; key?: unknown; value?: unknown }) {
    const name = await this.experimentById(b.experiment_id)
    if (!this.experiments.read().has(name)) this.experiments.append({ e: 'create', name, created: (await this.experimentNames()).get(name)!.created })
    this.experiments.append({ e: 'tag', name, k: checkKey(str(b.key, 'key'), 'tag'), v: str(b.value, 'value', false) })
    return {}
  }

  // ---- runs ----
  async createRun(b: { experiment_id?: unknown; user_id?: unknown; run_name?: unknown; start_time?: unknown; tags?: unknown }) {
    const expName = b.experiment_id === undefined || b.experiment_id === '' ? DEFAULT_EXPERIMENT : await this.experimentById(b.experiment_id)
    const tags = kvList(b.tags, 'tags')
    const tagMap: Record<string, string> = {}
    for (const t of tags) tagMap[t.key] = t.value
    const runName = typeof b.run_name === 'string' && b.run_name ? b.run_name : tagMap[RUN_NAME_TAG]
    this.names ??= new Set((await this.recordedViews()).views.map((v) => v.recorded!.name))
    for (const r of this.live.list()) this.names.add(r.name)
    const name = xpName(runName, this.names)
    this.names.add(name)
    tagMap[RUN_NAME_TAG] ??= runName || name
    const started = int(b.start_time, 'start_time', this.now())
    const id = newRunId(new Date(this.now()))
    const r = this.live.create({
      id,
      name,
      experiment: expName,
      started,
      user: typeof b.user_id === 'string' ? b.user_id : '',
      tags: tagMap,
      project: projectPrefix(this.repo),
    })
    return { run: runJson(liveView(r, 'active')) }
  }

  async getRun(q: { run_id?: unknown; run_uuid?: unknown }) {
    return { run: runJson(await this.view(str(q.run_id ?? q.run_uuid, 'run_id'))) }
  }

  async logParam(b: { run_id?: unknown; run_uuid?: unknown; key?: unknown; value?: unknown }) {
    return this.logBatch({ run_id: b.run_id ?? b.run_uuid, params: [{ key: b.key, value: b.value }] })
  }

  async setTag(b: { run_id?: unknown; run_uuid?: unknown; key?: unknown; value?: unknown }) {
    return this.logBatch({ run_id: b.run_id ?? b.run_uuid, tags: [{ key: b.key, value: b.value }] })
  }

  async logMetric(b: { run_id?: unknown; run_uuid?: unknown; key?: unknown; value?: unknown; timestamp?: unknown; step?: unknown }) {
    return this.logBatch({ run_id: b.run_id ?? b.run_uuid, metrics: [b] })
  }

  async logBatch(b: { run_id?: unknown; run_uuid?: unknown; params?: unknown; metrics?: unknown; tags?: unknown }) {
    const params = kvList(b.params, 'params')
    const tags = kvList(b.tags, 'tags')
    if (b.metrics !== undefined && b.metrics !== null && !Array.isArray(b.metrics)) throw badParam("Invalid value for parameter 'metrics': a list is expected")
    const now = this.now()
    const metrics = ((b.metrics as Array<Record<string, unknown>> | undefined) ?? []).map((m, i) => {
      if (!m || typeof m !== 'object') throw badParam(`Invalid value for parameter 'metrics[${i}]'`)
      return metricEvent(
        checkKey(str(m.key, `metrics[${i}].key`), 'metric'),
        num(m.value, `metrics[${i}].value`),
        int(m.step, `metrics[${i}].step`, 0),
        int(m.timestamp, `metrics[${i}].timestamp`, now),
      )
    })
    if (params.length > 100 || tags.length > 100 || metrics.length > 1000) throw badParam('A batch may hold at most 1000 metrics, 100 params and 100 tags')
    const run = await this.activeRun(b.run_id ?? b.run_uuid)
    const events: LiveEvent[] = []
    const seen = new Map<string, string>()
    for (const p of params) {
      if (p.value.length > PARAM_VALUE_MAX) throw badParam(`Param value for ${p.key} is longer than ${PARAM_VALUE_MAX} characters`)
      const old = seen.get(p.key) ?? run.params[p.key]
      if (old !== undefined && old !== p.value)
        throw badParam(
          `Changing param values is not allowed. Param with key='${p.key}' was already logged with value='${old}' for run ID='${run.id}'. Attempted logging new value '${p.value}'.`,
        )
      seen.set(p.key, p.value)
      if (old === undefined) events.push({ e: 'p', k: p.key, v: p.value })
    }
    for (const t of tags) {
      if (t.value.length > TAG_VALUE_MAX) throw badParam(`Tag value for ${t.key} is longer than ${TAG_VALUE_MAX} characters`)
      events.push({ e: 't', k: t.key, v: t.value })
      if (t.key === RUN_NAME_TAG) events.push({ e: 'name', v: run.name })
    }
    events.push(...metrics)
    this.live.append(run.id, events)
    return {}
  }

  async deleteTag(b: { run_id?: unknown; key?: unknown }) {
    const run = await this.activeRun(b.run_id)
    const key = str(b.key, 'key')
    if (!(key in run.tags)) throw notFound(`No tag with name: ${key} in run with id ${run.id}`)
    this.live.append(run.id, [{ e: 'dt', k: key }])
    return {}
  }

  async logModel(b: { run_id?: unknown; model_json?: unknown }) {
    const run = await this.activeRun(b.run_id)
    let model: unknown
    try {
      model = JSON.parse(str(b.model_json, 'model_json'))
    } catch {
      throw badParam("Invalid value for parameter 'model_json': not JSON")
    }
    this.live.append(run.id, [{ e: 'x', v: { kind: 'model', model } }])
    // MLflow keeps the logged models' history in a tag; clients read it back
    const history = (() => {
      try {
        return JSON.parse(run.tags['mlflow.log-model.history'] ?? '[]') as unknown[]
      } catch {
        return []
      }
    })()
    history.push(model)
    this.live.append(run.id, [{ e: 't', k: 'mlflow.log-model.history', v: JSON.stringify(history).slice(0, TAG_VALUE_MAX) }])
    return {}
  }

  async logInputs(b: { run_id?: unknown; datasets?: unknown }) {
    const run = await this.activeRun(b.run_id)
    if (b.datasets !== undefined && !Array.isArray(b.datasets)) throw badParam("Invalid value for parameter 'datasets': a list is expected")
    if (Array.isArray(b.datasets) && b.datasets.length) this.live.append(run.id, [{ e: 'x', v: { kind: 'inputs', datasets: b.datasets } }])
    return {}
  }

  /**
   * `runs/update`: a terminal status records the run (parent: the client's
   * `mlflow.source.git.commit` when the repo has that commit, else HEAD).
   */
  async updateRun(b: { run_id?: unknown; run_uuid?: unknown; status?: unknown; end_time?: unknown; run_name?: unknown }) {
    const id = str(b.run_id ?? b.run_uuid, 'run_id')
    const pending = this.finishing.get(id)
    if (pending) await pending.catch(() => {})
    const l = isRunId(id) ? this.live.get(id) : null
    if (!l) {
      const v = await this.view(id)
      return { run_info: runInfo(v) }
    }
    const status = b.status === undefined ? 'RUNNING' : str(b.status, 'status')
    if (!['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'].includes(status))
      throw badParam(`Invalid value ${JSON.stringify(status)} for parameter 'status'`)
    const events: LiveEvent[] = []
    if (typeof b.run_name === 'string' && b.run_name) events.push({ e: 't', k: RUN_NAME_TAG, v: b.run_name })
    const end = xpStatus(status)
    if (end) events.push({ e: 'end', status: end, ended: int(b.end_time, 'end_time', this.now()) })
    if (events.length) this.live.append(id, events)
    const now = this.live.get(id)!
    if (end) void this.finishInBackground(id)
    return { run_info: runInfo(liveView(now, 'active')) }
  }

  /**
   * Record a run after answering: its end is in the live file already, so a crash before
   * the commit is written loses nothing (recover() records it on the next start).
   */
  private finishInBackground(id: string): Promise<void> {
    // the git spawns start on a later turn, after the answer went out
    const p = (this.queue = this.queue.then(() => new Promise((r) => setImmediate(r))).then(() => this.finish(id))).then(
      () => void this.finishing.delete(id),
      (e) => {
        this.finishing.delete(id)
        this.repo.ctx.warn(`could not record run ${id} (it stays live; it is recorded on the next start): ${(e as Error).message}`)
      },
    )
    this.finishing.set(id, p)
    return p
  }

  /** Wait until the run (or, with no id, every run) being recorded is recorded. */
  async settled(id?: string): Promise<void> {
    if (id === undefined) await Promise.all([...this.finishing.values()])
    else await this.finishing.get(id)
  }

  /** Record a live run that has an end (or is given one); idempotent across servers. */
  async finish(id: string, forced?: { status: 'failed'; ended: number }): Promise<void> {
    let r = this.live.get(id)
    if (!r) return
    if (!r.end && forced) r = this.live.append(id, [{ e: 'end', status: forced.status, ended: forced.ended }])
    if (!r.end) return
    try {
      const { record, commit, ref } = await recordLiveRun(this.repo, r, {
        status: r.end.status as 'succeeded' | 'failed' | 'interrupted',
        ended: r.end.ended,
        parentHint: r.tags[GIT_COMMIT_TAG],
        command: r.tags['mlflow.source.name'] ? `mlflow: ${r.tags['mlflow.source.name']}` : 'mlflow',
        batch: this.batch(),
      })
      this.recordedHere.set(id, recordedView({ ...record, commit, ref }, 'active'))
    } catch (e) {
      if (!(e instanceof XpError && e.code === 'XP_REF_EXISTS')) {
        this.close() // a helper that failed is made again next time
        throw e
      }
    }
    this.live.remove(id)
  }

  /**
   * After a restart: live runs that asked to end are recorded; runs nobody has logged to
   * for `staleMs` are recorded as failed; the rest stay live (a client can go on and
   * finish them). Leftovers of recorded runs are removed.
   */
  async recover(staleMs: number): Promise<{ recorded: string[]; failed: string[] }> {
    const out = { recorded: [] as string[], failed: [] as string[] }
    const now = this.now()
    for (const r of this.live.list()) {
      if (r.end) {
        await this.finish(r.id)
        out.recorded.push(r.id)
      } else if (now - r.touched > staleMs) {
        await this.finish(r.id, { status: 'failed', ended: r.touched })
        out.failed.push(r.id)
      }
    }
    return out
  }

  async deleteRun(b: { run_id?: unknown }, deleted = true) {
    const v = await this.view(str(b.run_id, 'run_id'))
    if (v.live) this.live.append(v.run_id, [{ e: 'del', v: deleted }])
    fs.mkdirSync(path.dirname(this.lifecycleFile), { recursive: true })
    fs.appendFileSync(this.lifecycleFile, JSON.stringify({ id: v.run_id, deleted }) + '\n')
    return {}
  }

  async searchRuns(b: {
    experiment_ids?: unknown
    filter?: unknown
    run_view_type?: unknown
    max_results?: unknown
    order_by?: unknown
    page_token?: unknown
  }) {
    const ids = Array.isArray(b.experiment_ids) ? b.experiment_ids.map(String) : b.experiment_ids === undefined ? [] : [String(b.experiment_ids)]
    const view = typeof b.run_view_type === 'string' ? b.run_view_type : 'ACTIVE_ONLY'
    if (!['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL'].includes(view)) throw badParam(`Invalid value ${JSON.stringify(view)} for parameter 'run_view_type'`)
    const want = new Set(ids)
    const scope = this.opts.scope ?? {}
    const all = (await this.allViews()).filter(
      (v) =>
        (!want.size || want.has(v.experiment_id)) &&
        (view === 'ALL' || (view === 'DELETED_ONLY') === (v.lifecycle_stage === 'deleted')) &&
        inScope(v.recorded ?? v.live ?? {}, scope),
    )
    const orderBy = b.order_by === undefined ? [] : Array.isArray(b.order_by) ? b.order_by.map(String) : [String(b.order_by)]
    const res = searchRuns(all, {
      filter: typeof b.filter === 'string' ? b.filter : undefined,
      orderBy,
      maxResults: int(b.max_results, 'max_results', 1000),
      pageToken: typeof b.page_token === 'string' ? b.page_token : undefined,
    })
    const out: Record<string, unknown> = {}
    if (res.runs.length) out.runs = res.runs.map(runJson)
    if (res.nextPageToken) out.next_page_token = res.nextPageToken
    return out
  }

  async getMetricHistory(q: { run_id?: unknown; run_uuid?: unknown; metric_key?: unknown; max_results?: unknown; page_token?: unknown }) {
    const v = await this.view(str(q.run_id ?? q.run_uuid, 'run_id'))
    const key = str(q.metric_key, 'metric_key')
    let pts: Array<[number, number, number]> = []
    if (v.live) pts = v.live.metrics[key] ?? []
    else if (v.recorded?.series.includes(seriesFile(key))) {
      const [obj] = await readObjects([`${v.recorded.commit}:${seriesFile(key)}`], { cwd: this.repo.root, env: this.repo.ctx.env })
      if (obj) pts = parseSeriesText(obj.content.toString('utf8'))
    } else if (key in v.metrics) pts = [[0, metricNumber(v.metrics[key]) ?? NaN, v.end_time ?? v.start_time]]
    const max = int(q.max_results, 'max_results', 25000)
    const offset = q.page_token ? Number(Buffer.from(String(q.page_token), 'base64').toString()) || 0 : 0
    const page = pts.slice(offset, offset + max)
    const out: Record<string, unknown> = {}
    if (page.length) out.metrics = page.map(([step, value, timestamp]) => ({ key, value: Number.isFinite(value) ? value : String(value), timestamp, step }))
    if (offset + max < pts.length) out.next_page_token = Buffer.from(String(offset + max)).toString('base64')
    return out
  }

  // ---- artifacts ----
  /** `<exp>/<run>/artifacts[/<path>]` to the run and the path inside its artifacts ('' for the root). */
  async artifactTarget(p: string): Promise<{ view: RunView; rel: string }> {
    // one trailing slash names a folder; any other empty segment (an absolute path inside, `a//b`) is refused below
    const segs = p.replace(/\/$/, '').split('/')
    if (segs.length < 3 || segs[2] !== 'artifacts')
      throw badParam(`Invalid artifact path ${JSON.stringify(p.slice(0, 200))}: expected EXPERIMENT_ID/RUN_ID/artifacts[/PATH]`)
    const view = await this.view(segs[1])
    if (view.experiment_id !== segs[0]) throw notFound(`Run ${segs[1]} is not in experiment ${segs[0]}`)
    const rest = segs.slice(3).join('/')
    return { view, rel: rest === '' ? '' : safeRelPath(rest, 'artifact path') }
  }

  private async artifactEntries(v: RunView): Promise<ManifestEntry[]> {
    if (v.live) return Object.entries(v.live.artifacts).map(([p, a]) => ({ path: p, oid: a.oid, size: a.size, mode: 0o644 }))
    const out = v.recorded?.outs?.[ARTIFACTS_OUT]
    if (!out) return []
    return wantedEntries(this.repo.cacheDir, out, remoteFetcher(this.repo))
  }

  /** Store an uploaded artifact (streamed to the cache) in a live run. */
  async putArtifact(p: string, body: Readable): Promise<Record<string, never>> {
    const { view, rel } = await this.artifactTarget(p)
    if (!rel) throw badParam('An artifact upload needs a file path after artifacts/')
    const run = this.liveRun(view.run_id)
    for (const other of Object.keys(run.artifacts)) {
      if (other.startsWith(rel + '/') || rel.startsWith(other + '/'))
        throw badParam(`Artifact ${rel} clashes with ${other}: a path cannot be both a file and a folder`)
    }
    const tmp = tempPath(this.repo.cacheDir)
    try {
      await pipeline(body, fs.createWriteStream(tmp))
      const { oid, size } = await putFile(this.repo.cacheDir, tmp, { move: true })
      this.live.append(run.id, [{ e: 'a', p: rel, oid, size }])
    } finally {
      fs.rmSync(tmp, { force: true })
    }
    return {}
  }

  /** `mlflow-artifacts` listing: the direct children of a folder; `{}` for a file or nothing. */
  async listArtifacts(p: string): Promise<{ files?: Array<{ path: string; is_dir: boolean; file_size?: number }> }> {
    const { view, rel } = await this.artifactTarget(p)
    const prefix = rel ? rel + '/' : ''
    const children = new Map<string, { path: string; is_dir: boolean; file_size?: number }>()
    for (const e of await this.artifactEntries(view)) {
      if (!e.path.startsWith(prefix)) continue
      const rest = e.path.slice(prefix.length)
      const slash = rest.indexOf('/')
      const name = slash < 0 ? rest : rest.slice(0, slash)
      if (slash < 0) children.set(name, { path: name, is_dir: false, file_size: e.size })
      else if (!children.has(name)) children.set(name, { path: name, is_dir: true })
    }
    const files = [...children.values()].sort((a, b) => (a.path < b.path ? -1 : 1))
    return files.length ? { files } : {}
  }

  /** The classic `artifacts/list?run_id=&path=`: paths relative to the run's artifact root. */
  async listRunArtifacts(q: { run_id?: unknown; run_uuid?: unknown; path?: unknown }) {
    const v = await this.view(str(q.run_id ?? q.run_uuid, 'run_id'))
    const sub = typeof q.path === 'string' && q.path ? safeRelPath(q.path, 'path') : ''
    const listed = await this.listArtifacts(`${v.experiment_id}/${v.run_id}/artifacts${sub ? '/' + sub : ''}`)
    return { root_uri: v.artifact_uri, files: (listed.files ?? []).map((f) => ({ ...f, path: sub ? `${sub}/${f.path}` : f.path })) }
  }

  /** A download: the object's stream (fetched from the data remote first when missing here). */
  async openArtifact(p: string): Promise<{ stream: Readable; size: number; name: string }> {
    const { view, rel } = await this.artifactTarget(p)
    const entry = (await this.artifactEntries(view)).find((e) => e.path === rel)
    if (!entry) throw notFound(`Artifact ${rel} not found in run ${view.run_id}`)
    if (!hasObject(this.repo.cacheDir, entry.oid)) await remoteFetcher(this.repo)?.([entry.oid])
    return { stream: openObject(this.repo.cacheDir, entry.oid), size: entry.size, name: path.posix.basename(rel) }
  }

  /** The run ids of this service's live runs that belong to `experiment` (for tests and recovery). */
  liveIds(): string[] {
    return this.live.ids()
  }
}

export { DEFAULT_EXPERIMENT_ID }
