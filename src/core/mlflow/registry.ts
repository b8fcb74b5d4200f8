/**
 * MLflow's model registry over GTO's tags (docs/architecture.md#registry-tags), through core/registry's public
 * operations only:
 * - a registered model is an artifact (same name, GTO's grammar);
 * - MLflow version N is the GTO version `vN.0.0`; a version xp made otherwise (e.g.
 *   `v0.0.1`) is shown to MLflow clients as `0.0.1`, and the next MLflow version is one
 *   more than the highest major;
 * - an alias is a GTO stage: setting it assigns the stage, deleting it unassigns.
 * A registered model with no version yet (GTO has no tag for that), descriptions and
 * model tags are kept in `.xp/mlflow/models.jsonl` on this machine.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Repo } from '../repo.js'
import type { ListedRun } from '../runs/list.js'
import { loadRegistry } from '../registry/read.js'
import { register, assign, unassign, deprecate } from '../registry/ops.js'
import { validateArtifactName, validateStage } from '../registry/tag.js'
import type { ArtifactState, VersionState } from '../registry/fold.js'
import { XpError } from '../errors.js'
import { badParam, exists, notFound } from './errors.js'
import { nameFilter as mlflowNameFilter } from './search.js'
import { artifactUri } from './mapping.js'
import { experimentId, DEFAULT_EXPERIMENT } from './experiments.js'

/** MLflow's version text for a GTO version. */
export function mlflowVersion(v: string): string {
  const m = /^v(\d+)\.0\.0$/.exec(v)
  return m ? m[1] : v.replace(/^v/, '')
}

/** The GTO version for MLflow's version text. */
export function gtoVersion(v: string): string {
  if (/^\d+$/.test(v)) return `v${Number(v)}.0.0`
  return v.startsWith('v') ? v : `v${v}`
}

interface ModelMeta {
  name: string
  created: number
  description?: string
  tags: Record<string, string>
  deleted?: boolean
  /** MLflow version -> source URI given at creation */
  sources: Record<string, string>
}

const ms = (t: number) => (t < 1e11 ? t * 1000 : t)

export class MlflowRegistry {
  private file: string
  /** make the next listing look at the refs again */
  onStale?: () => void
  constructor(
    private repo: Repo,
    private runs: () => Promise<ListedRun[]>,
    private now: () => number,
    /** wait until a run that is being recorded is (its commit is what gets registered) */
    private settled: (runId: string) => Promise<void> = async () => {},
  ) {
    this.file = path.join(repo.xpDir, 'mlflow', 'models.jsonl')
  }

  private meta(): Map<string, ModelMeta> {
    const out = new Map<string, ModelMeta>()
    let text = ''
    try {
      text = fs.readFileSync(this.file, 'utf8')
    } catch {
      return out
    }
    for (const line of text.split('\n')) {
      let ev: Record<string, unknown>
      try {
        ev = JSON.parse(line)
      } catch {
        continue
      }
      const name = ev.name as string
      if (typeof name !== 'string') continue
      let m = out.get(name)
      if (ev.e === 'create' || !m) {
        m = { name, created: Number(ev.created) || 0, tags: {}, sources: m?.sources ?? {}, description: m?.description }
        out.set(name, m)
      }
      if (ev.e === 'create') {
        m.deleted = false
        if (typeof ev.description === 'string') m.description = ev.description
        Object.assign(m.tags, (ev.tags as Record<string, string>) ?? {})
      } else if (ev.e === 'delete') m.deleted = true
      else if (ev.e === 'source') m.sources[String(ev.version)] = String(ev.source)
    }
    return out
  }

  private append(ev: Record<string, unknown>) {
    fs.mkdirSync(path.dirname(this.file), { recursive: true })
    fs.appendFileSync(this.file, JSON.stringify(ev) + '\n')
  }

  private async state(): Promise<Map<string, ArtifactState>> {
    return (await loadRegistry(this.repo)).state.artifacts
  }

  private validName(name: unknown): string {
    if (typeof name !== 'string' || !name) throw badParam("Missing value for required parameter 'name'")
    try {
      return validateArtifactName(name)
    } catch (e) {
      throw badParam(`Invalid registered model name ${JSON.stringify(name)}: ${(e as Error).message}`)
    }
  }

  private async versionJson(name: string, v: VersionState, a: ArtifactState, meta: ModelMeta | undefined): Promise<Record<string, unknown>> {
    const run = (await this.runs()).find((r) => r.commit === v.commit)
    const mv = mlflowVersion(v.version)
    const runUri = run ? artifactUri(experimentId(run.experiment ?? DEFAULT_EXPERIMENT), run.id) : ''
    const aliases = Object.entries(a.stages)
      .filter(([, holders]) => holders[0]?.version === v.version)
      .map(([s]) => s)
    const out: Record<string, unknown> = {
      name,
      version: mv,
      creation_timestamp: ms(v.created),
      last_updated_timestamp: ms(v.created),
      current_stage: 'None',
      description: '',
      source: meta?.sources[mv] ?? (runUri ? `${runUri}/model` : v.commit),
      run_id: run?.id ?? '',
      status: 'READY',
      run_link: '',
    }
    if (aliases.length) out.aliases = aliases
    return out
  }

  private async modelJson(name: string, a: ArtifactState | undefined, m: ModelMeta | undefined): Promise<Record<string, unknown>> {
    const created = m?.created || (a?.versions.length ? Math.min(...a.versions.map((v) => ms(v.created))) : 0)
    const updated = Math.max(created, ...(a?.versions ?? []).map((v) => ms(v.created)))
    const out: Record<string, unknown> = { name, creation_timestamp: created, last_updated_timestamp: updated }
    if (m?.description) out.description = m.description
    const tags = Object.entries(m?.tags ?? {})
    if (tags.length) out.tags = tags.map(([key, value]) => ({ key, value }))
    if (a?.latest) out.latest_versions = [await this.versionJson(name, a.latest, a, m)]
    const aliases = Object.entries(a?.stages ?? {})
      .filter(([, h]) => h.length)
      .map(([alias, h]) => ({ alias, version: mlflowVersion(h[0].version) }))
    if (aliases.length) out.aliases = aliases
    return out
  }

  private async model(name: string): Promise<{ a?: ArtifactState; m?: ModelMeta }> {
    const a = (await this.state()).get(name)
    const m = this.meta().get(name)
    const live = (a?.active && a.versions.some((v) => v.registered && v.active)) || (m && !m.deleted)
    if (!live) throw notFound(`Registered Model with name=${name} not found`)
    return { a, m }
  }

  async create(b: { name?: unknown; tags?: unknown; description?: unknown }) {
    const name = this.validName(b.name)
    const a = (await this.state()).get(name)
    const m = this.meta().get(name)
    if ((m && !m.deleted) || (a?.active && a.versions.some((v) => v.registered && v.active))) throw exists(`Registered Model (name=${name}) already exists.`)
    const tags: Record<string, string> = {}
    if (Array.isArray(b.tags))
      for (const t of b.tags as Array<{ key?: unknown; value?: unknown }>) if (typeof t?.key === 'string') tags[t.key] = String(t.value ?? '')
    this.append({ e: 'create', name, created: this.now(), description: typeof b.description === 'string' ? b.description : undefined, tags })
    const { a: a2, m: m2 } = await this.model(name)
    return { registered_model: await this.modelJson(name, a2, m2) }
  }

  async get(q: { name?: unknown }) {
    const name = this.validName(q.name)
    const { a, m } = await this.model(name)
    return { registered_model: await this.modelJson(name, a, m) }
  }

  async search(b: { filter?: unknown; max_results?: unknown }) {
    const names = new Set<string>()
    for (const [n, a] of await this.state()) if (a.active && a.versions.some((v) => v.registered && v.active)) names.add(n)
    for (const [n, m] of this.meta()) if (!m.deleted) names.add(n)
    const match = mlflowNameFilter(typeof b.filter === 'string' ? b.filter : '', 'registered models')
    const out = []
    for (const n of [...names].sort()) {
      if (!match(n)) continue
      const { a, m } = await this.model(n)
      out.push(await this.modelJson(n, a, m))
    }
    const max = Number(b.max_results ?? 100) || 100
    return out.length ? { registered_models: out.slice(0, max) } : {}
  }

  async delete(b: { name?: unknown }) {
    const name = this.validName(b.name)
    const { a } = await this.model(name)
    if (a?.active && a.versions.some((v) => v.registered && v.active)) await deprecate(this.repo, { name })
    this.append({ e: 'delete', name })
    return {}
  }

  async createVersion(b: { name?: unknown; source?: unknown; run_id?: unknown; description?: unknown }) {
    const name = this.validName(b.name)
    if (typeof b.run_id !== 'string' || !b.run_id) throw badParam('xp registers a version of a run: give run_id (the run must have finished)')
    await this.settled(b.run_id)
    let run = (await this.runs()).find((r) => r.id === b.run_id)
    if (!run) {
      this.onStale?.()
      run = (await this.runs()).find((r) => r.id === b.run_id)
    }
    if (!run) throw badParam(`Run ${b.run_id} is not recorded yet: finish it (runs/update) before registering a version of it`)
    const a = (await this.state()).get(name)
    let major = 0
    for (const v of a?.versions ?? []) {
      const mm = /^v(\d+)\./.exec(v.version)
      if (v.registered && mm) major = Math.max(major, Number(mm[1]))
    }
    const version = `v${major + 1}.0.0`
    const m = this.meta().get(name)
    if (!m || m.deleted) this.append({ e: 'create', name, created: this.now(), tags: {} })
    try {
      // an MLflow model version points at its source, not at a file of the run's commit
      await register(this.repo, {
        name,
        ref: run.commit,
        version,
        // the source goes into the tag too, so `xp model get` finds the model in any clone
        message: `MLflow: registering ${name} version ${major + 1} (run ${run.id})${typeof b.source === 'string' && b.source ? `\n\nsource: ${b.source}` : ''}`,
        anyCommit: true,
      })
    } catch (e) {
      if (e instanceof XpError && e.code === 'XP_ALREADY_REGISTERED') throw badParam(`${e.message}: GTO registers one version per commit`)
      throw e
    }
    if (typeof b.source === 'string' && b.source) this.append({ e: 'source', name, version: String(major + 1), source: b.source })
    return { model_version: await this.getVersionJson(name, String(major + 1)) }
  }

  private async getVersionJson(name: string, version: string): Promise<Record<string, unknown>> {
    const a = (await this.state()).get(name)
    const gv = gtoVersion(version)
    const v = a?.versions.find((x) => x.version === gv && x.registered && x.active)
    if (!a || !v) throw notFound(`Model Version (name=${name}, version=${version}) not found`)
    return this.versionJson(name, v, a, this.meta().get(name))
  }

  async getVersion(q: { name?: unknown; version?: unknown }) {
    const name = this.validName(q.name)
    if (q.version === undefined || q.version === '') throw badParam("Missing value for required parameter 'version'")
    return { model_version: await this.getVersionJson(name, String(q.version)) }
  }

  /** `models:/NAME/N` and `models:/NAME@alias` load through this (MLflow's client asks it for the files' URI). */
  async getDownloadUri(q: { name?: unknown; version?: unknown }) {
    const { model_version } = await this.getVersion(q)
    return { artifact_uri: model_version.source }
  }

  async deleteVersion(q: { name?: unknown; version?: unknown }) {
    const name = this.validName(q.name)
    await this.getVersionJson(name, String(q.version))
    await deprecate(this.repo, { name, version: gtoVersion(String(q.version)) })
    return {}
  }

  async searchVersions(b: { filter?: unknown; max_results?: unknown }) {
    const filter = typeof b.filter === 'string' ? b.filter.trim() : ''
    const conds: Array<[string, string]> = []
    if (filter) {
      for (const part of filter.split(/\s+and\s+/i)) {
        const m = /^(name|run_id|source_path)\s*=\s*(['"])(.*)\2$/i.exec(part.trim())
        if (!m) throw badParam(`Invalid filter ${JSON.stringify(filter)}: model versions are searched by name = '...' or run_id = '...'`)
        conds.push([m[1].toLowerCase(), m[3]])
      }
    }
    const meta = this.meta()
    const out: Array<Record<string, unknown>> = []
    for (const [n, a] of await this.state()) {
      if (conds.some(([k, v]) => k === 'name' && v !== n)) continue
      for (const v of a.versions) {
        if (!v.registered || !v.active) continue
        const j = await this.versionJson(n, v, a, meta.get(n))
        if (conds.every(([k, val]) => k === 'name' || j[k] === val)) out.push(j)
      }
    }
    const max = Number(b.max_results ?? 10000) || 10000
    return out.length ? { model_versions: out.slice(0, max) } : {}
  }

  async setAlias(b: { name?: unknown; alias?: unknown; version?: unknown }) {
    const name = this.validName(b.name)
    const alias = this.validAlias(b.alias)
    await this.getVersionJson(name, String(b.version ?? ''))
    // GTO orders same-second assignments of one stage by version, not by time: never make such a tie
    const holders = (await this.state()).get(name)?.stages[alias] ?? []
    if (holders[0]?.version === gtoVersion(String(b.version))) return {} // already there: MLflow answers 200
    const newest = Math.max(0, ...holders.map((h) => ms(h.assigned)))
    const wait = Math.floor(newest / 1000) * 1000 + 1000 - this.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    await assign(this.repo, {
      name,
      stage: alias,
      version: gtoVersion(String(b.version)),
      message: `MLflow: alias ${alias} -> version ${b.version}`,
      anyCommit: true,
    })
    return {}
  }

  async deleteAlias(q: { name?: unknown; alias?: unknown }) {
    const name = this.validName(q.name)
    const alias = this.validAlias(q.alias)
    const a = (await this.state()).get(name)
    if (!a?.stages[alias]?.length) throw notFound(`Registered model alias ${alias} not found.`)
    await unassign(this.repo, { name, stage: alias })
    return {}
  }

  async getByAlias(q: { name?: unknown; alias?: unknown }) {
    const name = this.validName(q.name)
    const alias = this.validAlias(q.alias)
    const a = (await this.state()).get(name)
    const holder = a?.stages[alias]?.[0]
    if (!a || !holder) throw notFound(`Registered model alias ${alias} not found.`)
    return { model_version: await this.getVersionJson(name, mlflowVersion(holder.version)) }
  }

  private validAlias(alias: unknown): string {
    if (typeof alias !== 'string' || !alias) throw badParam("Missing value for required parameter 'alias'")
    try {
      return validateStage(alias)
    } catch (e) {
      throw badParam(`Invalid alias ${JSON.stringify(alias)}: ${(e as Error).message}`)
    }
  }
}
