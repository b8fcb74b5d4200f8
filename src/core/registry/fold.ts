/**
 * The registry's state, folded from its tags every time (DESIGN 2.6; there is no state
 * file). Pure: takes tag events, returns state plus the warnings and problems to show.
 *
 * Order of events: the tagger date in seconds; at a tie the cancelling event wins
 * (deregister over register, unassign over assign) and registration beats deprecation,
 * which is GTO's priority order: deprecate < register < deregister < assign < unassign.
 */
import { parseRegistryTag, isCreationTag, type ParsedTag, type TagKind } from './tag.js'
import { parseSemVer, compareSemVer, compareVersionText } from './semver.js'

/** One annotated tag as read from git. */
export interface TagEvent {
  /** the tag's name, without refs/tags/ */
  tag: string
  /** tagger date, seconds since the epoch */
  time: number
  /** the commit the tag points at */
  commit: string
  tagger: string
  email: string
  message: string
}

export interface RegistryEvent extends TagEvent {
  artifact: string
  kind: TagKind
  /** for stage events: the version at the commit, or the commit's hash when none is registered */
  version?: string
  stage?: string
  counter?: number
}

export interface VersionState {
  version: string
  commit: string
  /** registered explicitly (false for a commit that only has stage tags: its version is its hash) */
  registered: boolean
  /** its newest registration event is a registration (or, unregistered, it has stage events) */
  active: boolean
  /** when it was (last) registered; for an unregistered commit, its first stage event */
  created: number
  /** its (newest) registration tag */
  tag?: string
  /** stages whose newest event for this version is an assignment */
  stages: string[]
}

export interface StageHolder {
  version: string
  commit: string
  /** the newest assignment of this version to the stage */
  assigned: number
  tag: string
}

export interface ArtifactState {
  name: string
  /** false when its newest event is a deprecation */
  active: boolean
  /** always true for artifacts known from tags (GTO's flag for artifacts only annotated in files) */
  registered: boolean
  /** highest active registered version */
  latest: VersionState | null
  /** every version, highest SemVer first; commit-hash versions last */
  versions: VersionState[]
  /** per stage: the active versions holding it, most recently assigned first */
  stages: Record<string, StageHolder[]>
  /** this artifact's events, oldest first */
  events: RegistryEvent[]
}

export interface RegistryState {
  artifacts: Map<string, ArtifactState>
  /** stages held by some version of some artifact, sorted (GTO's "used stages") */
  stages: string[]
  /** non-fatal things the user should see (ignored tags) */
  warnings: string[]
  /** inconsistencies in the tags; the rest of the registry is still read */
  problems: string[]
}

const PRIORITY: Record<TagKind, number> = { deprecate: 2, register: 3, deregister: 4, assign: 5, unassign: 6 }

/** Event order: time, then GTO's priority, then counter, then name (for determinism). */
export function compareEvents(a: RegistryEvent, b: RegistryEvent): number {
  return a.time - b.time || PRIORITY[a.kind] - PRIORITY[b.kind] || (a.counter ?? -1) - (b.counter ?? -1) || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0)
}

const short = (commit: string) => commit.slice(0, 7)

/**
 * Fold tag events into the registry's state.
 *
 * @example
 * const state = foldRegistry([{ tag: 'churn@v1.0.0', time: 10, commit: c1, tagger: 'A', email: 'a@x', message: '' }])
 * state.artifacts.get('churn')!.latest!.version // 'v1.0.0'
 */
export function foldRegistry(tags: TagEvent[]): RegistryState {
  const warnings: string[] = []
  const events: RegistryEvent[] = []
  for (const t of tags) {
    const p = parseRegistryTag(t.tag)
    if (p) events.push(toRegistryEvent(t, p))
    else if (isCreationTag(t.tag)) warnings.push(creationWarning(t.tag))
  }
  const state = foldEvents(events)
  state.warnings.unshift(...warnings)
  return state
}

export const creationWarning = (tag: string) =>
  `ignoring tag "${tag}": GTO's creation tags (NAME@created) are not supported; an artifact exists once it has a version or a stage`

/** A tag event with its parsed name; every field set, so that all events share one shape (fast to fold). */
export function toRegistryEvent(t: TagEvent, p: ParsedTag): RegistryEvent {
  return {
    tag: t.tag,
    time: t.time,
    commit: t.commit,
    tagger: t.tagger,
    email: t.email,
    message: t.message,
    artifact: p.artifact,
    kind: p.kind,
    version: p.version,
    stage: p.stage,
    counter: p.counter,
  }
}

/** Fold parsed events (from {@link toRegistryEvent}) into state. */
export function foldEvents(events: RegistryEvent[]): RegistryState {
  const problems: string[] = []
  const byArtifact = new Map<string, RegistryEvent[]>()
  for (const e of events) {
    const list = byArtifact.get(e.artifact)
    if (list) list.push(e)
    else byArtifact.set(e.artifact, [e])
  }
  const artifacts = new Map<string, ArtifactState>()
  const used = new Set<string>()
  for (const [name, list] of byArtifact) {
    list.sort(compareEvents)
    const a = foldArtifact(name, list, problems)
    for (const stage in a.stages) used.add(stage)
    artifacts.set(name, a)
  }
  return { artifacts, stages: [...used].sort(), warnings: [], problems }
}

interface VersionAcc extends VersionState {
  /** the kind of its newest registration event */
  lastDirect?: 'register' | 'deregister'
}

function foldArtifact(name: string, events: RegistryEvent[], problems: string[]): ArtifactState {
  const versions = new Map<string, VersionAcc>()
  const byCommit = new Map<string, VersionAcc[]>()
  // Versions first: a stage tag belongs to the version registered at its commit, whenever
  // that registration happened.
  for (const e of events) {
    if (e.kind !== 'register' && e.kind !== 'deregister') continue
    let v = versions.get(e.version!)
    if (!v) {
      v = { version: e.version!, commit: e.commit, registered: true, active: false, created: e.time, tag: e.tag, stages: [], lastDirect: e.kind }
      versions.set(v.version, v)
      const list = byCommit.get(e.commit) ?? []
      list.push(v)
      byCommit.set(e.commit, list)
    } else if (v.commit !== e.commit) {
      problems.push(`artifact "${name}": tag "${e.tag}" points at commit ${short(e.commit)} but version ${v.version} is on ${short(v.commit)}; the tag is ignored`)
      continue
    }
    v.lastDirect = e.kind
    if (e.kind === 'register') {
      v.created = e.time
      v.tag = e.tag
    }
  }
  for (const v of versions.values()) v.active = v.lastDirect === 'register'
  for (const [commit, list] of byCommit) {
    const active = list.filter((v) => v.active)
    if (active.length < 2) continue
    problems.push(`artifact "${name}" has ${active.length} versions on commit ${short(commit)} (tags ${active.map((v) => `"${v.tag}"`).join(' and ')}); its stage tags there are ignored until one is deregistered (\`xp model deprecate ${name} --version VERSION\`)`)
  }

  // The version a stage tag at `commit` refers to.
  const versionAt = (commit: string, time: number): VersionAcc | null => {
    const list = byCommit.get(commit)
    if (!list) {
      let v = versions.get(commit)
      // events come oldest first, so the first stage event is its creation
      if (!v) versions.set(commit, (v = { version: commit, commit, registered: false, active: true, created: time, tag: undefined, stages: [], lastDirect: undefined }))
      return v
    }
    if (list.length === 1) return list[0]
    const active = list.filter((v) => v.active)
    if (active.length === 1) return active[0]
    if (active.length === 0) return [...list].sort((x, y) => y.created - x.created)[0]
    return null // ambiguous: reported above
  }

  // Stages: per (version, stage), the newest event decides; holders ordered by their newest assignment.
  // A version has few stages: a short list beats a map per version.
  const vstages = new Map<VersionAcc, Array<{ stage: string; last: RegistryEvent; assigned: RegistryEvent | undefined }>>()
  let lastEvent: RegistryEvent | undefined
  for (const e of events) {
    lastEvent = e
    if (e.kind !== 'assign' && e.kind !== 'unassign') continue
    const v = versionAt(e.commit, e.time)
    if (!v) continue
    e.version = v.version
    let list = vstages.get(v)
    if (!list) vstages.set(v, (list = []))
    const s = list.find((x) => x.stage === e.stage)
    if (!s) list.push({ stage: e.stage!, last: e, assigned: e.kind === 'assign' ? e : undefined })
    else {
      s.last = e
      if (e.kind === 'assign') s.assigned = e
    }
  }
  const stageEvents: Record<string, Array<{ holder: StageHolder; event: RegistryEvent }>> = {}
  for (const [v, list] of vstages) {
    if (!v.active) continue
    for (const s of list) {
      const stage = s.stage
      if (s.last.kind !== 'assign') continue
      v.stages.push(stage)
      const holder = { version: v.version, commit: v.commit, assigned: s.assigned!.time, tag: s.assigned!.tag }
      ;(stageEvents[stage] ??= []).push({ holder, event: s.assigned! })
    }
  }
  const stages: Record<string, StageHolder[]> = {}
  for (const stage of Object.keys(stageEvents).sort()) stages[stage] = stageEvents[stage].sort((x, y) => compareEvents(y.event, x.event)).map((x) => x.holder)

  // Sort highest first, parsing each version once; commit-hash versions go last.
  const keyed = [...versions.values()].map((v) => ({ v, sv: parseSemVer(v.version) }))
  keyed.sort((x, y) => (x.sv && y.sv ? compareSemVer(y.sv, x.sv) : x.sv ? -1 : y.sv ? 1 : compareVersionText(y.v.version, x.v.version)))
  const all: VersionState[] = keyed.map(({ v }) => {
    v.stages.sort()
    return v
  })
  const latest = keyed.find(({ v, sv }) => sv && v.registered && v.active)?.v ?? null
  return {
    name,
    active: lastEvent !== undefined && lastEvent.kind !== 'deprecate',
    registered: true,
    latest,
    versions: all,
    stages,
    events,
  }
}

/** Highest version ever registered (active or not): the base for the next bump, so it never collides. */
export function highestVersion(a: ArtifactState | undefined): string | null {
  let best: ReturnType<typeof parseSemVer> = null
  for (const v of a?.versions ?? []) {
    const s = v.registered ? parseSemVer(v.version) : null
    if (s && (!best || compareSemVer(s, best) > 0)) best = s
  }
  return best?.raw ?? null
}

/** GTO's `show --json` entry for one artifact. */
export interface GtoShowEntry {
  version: string | null
  stage: Record<string, string | null>
  registered: boolean
  active: boolean
}

/** One artifact's part of the listing, on its own: the stages it holds, the version each shows. */
export interface ShowEntry {
  version: string | null
  stages: Record<string, string>
  registered: boolean
  active: boolean
}

export function showEntry(a: ArtifactState): ShowEntry {
  const stages: Record<string, string> = {}
  for (const s in a.stages) if (a.stages[s].length) stages[s] = a.stages[s][0].version
  return { version: a.latest?.version ?? null, stages, registered: a.registered, active: a.active }
}

/**
 * The registry in the exact shape of `gto show --json` from each artifact's entry: every
 * active artifact (all with `deprecated`), its latest version, and for every stage used
 * anywhere in the registry (deprecated artifacts included, as GTO does) the version shown
 * there (most recently assigned) or null.
 */
export function gtoShowOf(entries: Iterable<[string, ShowEntry]>, opts: { deprecated?: boolean } = {}): { show: Record<string, GtoShowEntry>; stages: string[] } {
  const list = [...entries].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
  const used = new Set<string>()
  for (const [, e] of list) for (const s in e.stages) used.add(s)
  const stages = [...used].sort()
  const show: Record<string, GtoShowEntry> = {}
  for (const [name, e] of list) {
    if (!e.active && !opts.deprecated) continue
    const stage: Record<string, string | null> = {}
    for (const s of stages) stage[s] = e.stages[s] ?? null
    show[name] = { version: e.version, stage, registered: e.registered, active: e.active }
  }
  return { show, stages }
}

/**
 * `gto show --json` of a folded registry.
 *
 * @example
 * gtoShow(state) // { churn: { version: 'v1.1.0', stage: { production: 'v1.0.0' }, registered: true, active: true } }
 */
export function gtoShow(state: RegistryState, opts: { deprecated?: boolean } = {}): Record<string, GtoShowEntry> {
  return gtoShowOf([...state.artifacts].map(([name, a]) => [name, showEntry(a)] as [string, ShowEntry]), opts).show
}
