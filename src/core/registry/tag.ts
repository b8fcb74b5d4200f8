/**
 * GTO's tag grammar (docs/architecture.md#registry-tags), defined once: one pure function parses a tag name, one
 * value object formats them. Nothing else in xp glues a registry tag together.
 *
 *   NAME@vX.Y.Z        register a version          NAME@vX.Y.Z!       deregister it
 *   NAME#STAGE#N       assign STAGE to the commit  NAME#STAGE!#N      unassign it
 *   NAME@deprecated    deprecate the artifact      (any of them may end in #N)
 *
 * NAME is `[dir=]name`; GTO shows the `dir=` prefix as `dir:` in artifact names, and so
 * does xp: the tag `path/to=churn@v1.0.0` is the artifact `path/to:churn`.
 */
import { usageError } from '../errors.js'
import { SEMVER_PATTERN } from './semver.js'

export type TagKind = 'register' | 'deregister' | 'assign' | 'unassign' | 'deprecate'

export interface ParsedTag {
  /** the artifact as GTO shows it (`dir:name`) */
  artifact: string
  kind: TagKind
  version?: string
  stage?: string
  counter?: number
}

const NAME = '[a-zA-Z0-9](?:[a-zA-Z0-9\\-/_]*[a-zA-Z0-9])?'
const DIRNAME = '[a-zA-Z0-9\\-_./]+'
const VERSION = `v${SEMVER_PATTERN}`
const TAG_RE = new RegExp(`^((?:${DIRNAME}=)?${NAME})(?:(?:#(${NAME})|@(${VERSION}))(!?)|@(deprecated|created))(?:#([0-9]+))?$`)
const NAME_RE = new RegExp(`^${NAME}$`)
const DIRNAME_RE = new RegExp(`^${DIRNAME}$`)
const VERSION_RE = new RegExp(`^${VERSION}$`)

export const ARTIFACT_GRAMMAR =
  'an artifact name is [DIR:]NAME, NAME matching [a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])? and DIR a path of letters, digits and - _ . /'
export const VERSION_GRAMMAR = 'a version is v + SemVer 2: vMAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], e.g. v1.0.0 or v2.1.0-rc.1 (no leading zeros)'
export const STAGE_GRAMMAR = 'a stage matches [a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])?, e.g. production'

const SEP_IN_NAME = ':'
const SEP_IN_TAG = '='

/**
 * Parse a tag name; null for tags that are not registry tags (and for GTO's
 * `NAME@created`, which {@link isCreationTag} recognises so the fold can warn).
 *
 * @example
 * parseRegistryTag('churn#production#3') // { artifact: 'churn', kind: 'assign', stage: 'production', counter: 3 }
 * parseRegistryTag('v1.0.0')             // null
 */
export function parseRegistryTag(name: string): ParsedTag | null {
  const m = TAG_RE.exec(name)
  if (!m || m[5] === 'created') return null
  // by index, not destructured: run for every tag of a listing, mostly before the JIT is warm
  const rawArtifact = m[1]
  const stage = m[2]
  const version = m[3]
  const cancel = m[4]
  const deprecated = m[5]
  const counter = m[6]
  const artifact = rawArtifact.replace(SEP_IN_TAG, SEP_IN_NAME)
  const out: ParsedTag = deprecated
    ? { artifact, kind: 'deprecate' }
    : stage !== undefined
      ? { artifact, kind: cancel ? 'unassign' : 'assign', stage }
      : { artifact, kind: cancel ? 'deregister' : 'register', version }
  if (counter !== undefined) out.counter = Number(counter)
  return out
}

/** `NAME@created[#N]`: GTO's grammar has it, GTO itself crashes on it, xp ignores it. */
export function isCreationTag(name: string): boolean {
  return TAG_RE.exec(name)?.[5] === 'created'
}

/**
 * Validate an artifact name as a user types it (`dir:name`, or `dir=name` as in a tag)
 * and return it as GTO shows it (`dir:name`). Throws XP_BAD_ARTIFACT_NAME with the grammar.
 *
 * @example
 * validateArtifactName('models/churn') // 'models/churn'
 * validateArtifactName('path/to=churn') // 'path/to:churn'
 */
export function validateArtifactName(input: string): string {
  const i = Math.max(input.lastIndexOf(SEP_IN_NAME), input.lastIndexOf(SEP_IN_TAG))
  const dir = i >= 0 ? input.slice(0, i) : undefined
  const name = i >= 0 ? input.slice(i + 1) : input
  const okDir = dir === undefined || (DIRNAME_RE.test(dir) && !/(^|\/)\.|\.\.|\/\/|\.lock(\/|$)|\.$|\/$/.test(dir)) // git's ref-name rules
  if (!okDir || !NAME_RE.test(name) || name.length > 200)
    throw usageError(
      'XP_BAD_ARTIFACT_NAME',
      `invalid artifact name ${JSON.stringify(input)}: ${ARTIFACT_GRAMMAR}`,
      'for example: churn, models/churn-2, path/to:churn',
    )
  return dir === undefined ? name : `${dir}${SEP_IN_NAME}${name}`
}

/** Throws XP_BAD_VERSION (with the grammar) unless `v` is `v` + SemVer 2. */
export function validateVersion(v: string): string {
  if (!VERSION_RE.test(v)) {
    const hint = /^\d/.test(v) && VERSION_RE.test(`v${v}`) ? `did you mean v${v}?` : 'for example: --version v1.0.0'
    throw usageError('XP_BAD_VERSION', `invalid version ${JSON.stringify(v)}: ${VERSION_GRAMMAR}`, hint)
  }
  return v
}

/** Throws XP_BAD_STAGE (with the grammar) unless `s` is a valid stage name. */
export function validateStage(s: string): string {
  if (!NAME_RE.test(s)) throw usageError('XP_BAD_STAGE', `invalid stage ${JSON.stringify(s)}: ${STAGE_GRAMMAR}`, 'for example: --stage production')
  return s
}

/**
 * A registry tag as a value: built from validated parts, formatted to GTO's tag name.
 *
 * @example
 * RegistryTag.assign('churn', 'production', 4).name // 'churn#production#4'
 * RegistryTag.register('path/to:churn', 'v1.0.0').name // 'path/to=churn@v1.0.0'
 */
export class RegistryTag {
  private constructor(
    readonly artifact: string,
    readonly kind: TagKind,
    readonly version?: string,
    readonly stage?: string,
    readonly counter?: number,
  ) {}

  static register(artifact: string, version: string, counter?: number): RegistryTag {
    return new RegistryTag(validateArtifactName(artifact), 'register', validateVersion(version), undefined, counter)
  }

  static deregister(artifact: string, version: string, counter?: number): RegistryTag {
    return new RegistryTag(validateArtifactName(artifact), 'deregister', validateVersion(version), undefined, counter)
  }

  static assign(artifact: string, stage: string, counter: number): RegistryTag {
    return new RegistryTag(validateArtifactName(artifact), 'assign', undefined, validateStage(stage), counter)
  }

  static unassign(artifact: string, stage: string, counter: number): RegistryTag {
    return new RegistryTag(validateArtifactName(artifact), 'unassign', undefined, validateStage(stage), counter)
  }

  static deprecate(artifact: string, counter?: number): RegistryTag {
    return new RegistryTag(validateArtifactName(artifact), 'deprecate', undefined, undefined, counter)
  }

  /** Parse a tag name into a value; null for tags that are not registry tags. */
  static parse(name: string): RegistryTag | null {
    const p = parseRegistryTag(name)
    return p && new RegistryTag(p.artifact, p.kind, p.version, p.stage, p.counter)
  }

  /** The same tag with a counter (for a name that is taken without one). */
  withCounter(counter: number): RegistryTag {
    return new RegistryTag(this.artifact, this.kind, this.version, this.stage, counter)
  }

  get name(): string {
    const a = this.artifact.replace(SEP_IN_NAME, SEP_IN_TAG)
    const body =
      this.kind === 'register'
        ? `@${this.version}`
        : this.kind === 'deregister'
          ? `@${this.version}!`
          : this.kind === 'assign'
            ? `#${this.stage}`
            : this.kind === 'unassign'
              ? `#${this.stage}!`
              : '@deprecated'
    return a + body + (this.counter === undefined ? '' : `#${this.counter}`)
  }

  /** The full ref, `refs/tags/<name>`. */
  get ref(): string {
    return `refs/tags/${this.name}`
  }

  toString(): string {
    return this.name
  }
}

/**
 * The counter for a new tag of `artifact`: one more than the highest counter on any of
 * its tags (GTO's rule, so counters never repeat across stages or kinds).
 *
 * @example
 * nextCounter(['churn#prod#1', 'churn#dev#4', 'other#prod#9'], 'churn') // 5
 */
export function nextCounter(tagNames: Iterable<string>, artifact: string): number {
  let max = 0
  for (const n of tagNames) {
    const p = parseRegistryTag(n)
    if (p && p.artifact === artifact && p.counter !== undefined && p.counter > max) max = p.counter
  }
  return max + 1
}
