/**
 * Pure look-ups in a folded registry: `NAME@vX.Y.Z`, `NAME@latest`, `NAME@STAGE` (or GTO's
 * `NAME#STAGE`) to one version, with a stable error code for each way it can miss.
 */
import { XpError } from '../errors.js'
import { validateArtifactName, validateStage, validateVersion } from './tag.js'
import type { ArtifactState, RegistryState, VersionState } from './fold.js'

export type Selector = { kind: 'version'; version: string } | { kind: 'latest' } | { kind: 'stage'; stage: string }

export interface ModelSpec {
  artifact: string
  selector: Selector
}

/**
 * Parse what a user names a model version by.
 *
 * @example
 * parseModelSpec('churn@production') // { artifact: 'churn', selector: { kind: 'stage', stage: 'production' } }
 * parseModelSpec('churn')            // latest
 */
export function parseModelSpec(spec: string): ModelSpec {
  const at = spec.indexOf('@')
  const hash = spec.indexOf('#')
  const i = at >= 0 && (hash < 0 || at < hash) ? at : hash
  if (i < 0) return { artifact: validateArtifactName(spec), selector: { kind: 'latest' } }
  const artifact = validateArtifactName(spec.slice(0, i))
  const rest = spec.slice(i + 1)
  if (spec[i] === '@' && (rest === 'latest' || rest === 'greatest')) return { artifact, selector: { kind: 'latest' } }
  if (spec[i] === '@' && /^v\d/.test(rest)) return { artifact, selector: { kind: 'version', version: validateVersion(rest) } }
  return { artifact, selector: { kind: 'stage', stage: validateStage(rest) } }
}

/** The artifact, or XP_ARTIFACT_NOT_FOUND naming the ones that exist. */
export function findArtifact(state: RegistryState, name: string): ArtifactState {
  const a = state.artifacts.get(name)
  if (a) return a
  const known = [...state.artifacts.keys()].sort()
  throw new XpError('XP_ARTIFACT_NOT_FOUND', `no artifact named ${JSON.stringify(name)} in the registry`, {
    hint: known.length
      ? `known artifacts: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', …' : ''}`
      : 'register one with `xp model register NAME [RUN]`',
  })
}

/**
 * An active registered version by name, or XP_VERSION_NOT_FOUND. Versions are a name on a
 * commit (GTO's key): of two active ones with the same name, the one registered later.
 */
export function findVersion(a: ArtifactState, version: string): VersionState {
  const same = a.versions.filter((x) => x.version === version && x.registered)
  const v = same.find((x) => x.active) ?? same[0]
  if (v?.active) return v
  const active = a.versions.filter((x) => x.registered && x.active).map((x) => x.version)
  throw new XpError('XP_VERSION_NOT_FOUND', v ? `version ${version} of "${a.name}" was deregistered` : `"${a.name}" has no version ${version}`, {
    hint: active.length ? `active versions: ${active.slice(0, 10).join(', ')}` : `register one with \`xp model register ${a.name} [RUN]\``,
  })
}

export interface Resolved {
  artifact: ArtifactState
  version: VersionState
  /** the stage it was found through, if any */
  stage?: string
}

/**
 * One version for a spec. Errors: XP_ARTIFACT_NOT_FOUND, XP_VERSION_NOT_FOUND (no such
 * version, or no active one for `latest`), XP_STAGE_EMPTY (no active version in the stage).
 */
export function resolveSpec(state: RegistryState, spec: ModelSpec): Resolved {
  const artifact = findArtifact(state, spec.artifact)
  const sel = spec.selector
  if (sel.kind === 'version') return { artifact, version: findVersion(artifact, sel.version) }
  if (sel.kind === 'latest') {
    if (!artifact.latest)
      throw new XpError('XP_VERSION_NOT_FOUND', `"${artifact.name}" has no active version`, {
        hint: `register one with \`xp model register ${artifact.name} [RUN]\``,
      })
    return { artifact, version: artifact.latest }
  }
  const holder = artifact.stages[sel.stage]?.[0]
  if (!holder) {
    const held = Object.keys(artifact.stages).filter((s) => artifact.stages[s].length)
    throw new XpError('XP_STAGE_EMPTY', `no version of "${artifact.name}" is in stage ${JSON.stringify(sel.stage)}`, {
      hint: held.length ? `stages in use: ${held.join(', ')}` : `assign one with \`xp model assign ${artifact.name} --stage ${sel.stage}\``,
    })
  }
  const version = artifact.versions.find((v) => v.version === holder.version && v.commit === holder.commit)!
  return { artifact, version, stage: sel.stage }
}
