/**
 * Registry commands that write: register, assign (promote), unassign, deprecate. Each
 * reads the registry, decides every tag it will create and checks them all, and only then
 * creates annotated tags; if a later tag fails, the earlier ones are deleted again, so a
 * failed command leaves no tag.
 */
import { Scrubber } from '../safety/secrets.js'
import { projectPrefix, type Repo } from '../repo.js'
import type { Context } from '../context.js'
import { git, gitAsAuthor, CatFileBatch } from '../git.js'
import { XpError, usageError } from '../errors.js'
import { listRuns } from '../runs/list.js'
import { findRun } from '../runs/resolve.js'
import { RegistryTag, nextCounter, validateArtifactName, validateStage, validateVersion } from './tag.js'
import { bumpSemVer, parseSemVer, FIRST_VERSION, type BumpPart } from './semver.js'
import { highestVersion, GTO_ONE_VERSION_PER_COMMIT, type ArtifactState, type VersionState } from './fold.js'
import { findArtifact, findVersion } from './query.js'
import { loadRegistry, type Registry } from './read.js'
import { artifactData } from './describe.js'

export interface RunInfo {
  id: string
  name: string
}

export interface Target {
  commit: string
  /** the run whose commit it is, when REF named a run */
  run: RunInfo | null
}

/**
 * A REF as commands take it: a run id, id prefix or name first, then any git revision.
 *
 * @example
 * await resolveTarget(repo, 'brisk-otter') // { commit: '3f2a…', run: { id: '01j…', name: 'brisk-otter' } }
 */
export async function resolveTarget(repo: Pick<Repo, 'root' | 'ctx'>, ref = 'HEAD'): Promise<Target> {
  if (ref !== 'HEAD') {
    const run = findRun(await listRuns(repo, { notes: false }), ref)
    if (run) return { commit: run.commit, run: { id: run.id, name: run.name } }
  }
  const res = ref.startsWith('-')
    ? null
    : await git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: repo.root, env: repo.ctx.env, allowFail: true })
  if (res?.code !== 0)
    throw new XpError('XP_REF_NOT_FOUND', `${JSON.stringify(ref)} is neither a run nor a git commit`, {
      hint: 'name a run (id, prefix or name; see `xp show`) or a git revision',
    })
  return { commit: res.stdout.trim(), run: null }
}

interface PlannedTag {
  tag: RegistryTag
  commit: string
  message: string
}

export interface WriteResult {
  artifact: string
  version: string
  commit: string
  stage?: string
  /** tags created, in order */
  tags: string[]
  run?: RunInfo | null
  /** the file (or folder) the version points at, from `artifacts:` in xp.yaml at its commit */
  path?: string
}

/** The registered versions (active or deregistered) of `a` on `commit`. */
const versionsAt = (a: ArtifactState | undefined, commit: string): VersionState[] => (a?.versions ?? []).filter((v) => v.registered && v.commit === commit)

/**
 * Decide the registration tag of `commit` (pure over the registry read). GTO allows one
 * version per commit, deregistered ones included: a commit whose version was deregistered
 * can only register that version again.
 */
function planRegistration(
  reg: Registry,
  artifact: string,
  commit: string,
  opts: { version?: string; bump?: BumpPart; message?: string },
): PlannedTag & { version: string } {
  const a = reg.state.artifacts.get(artifact)
  const onCommit = versionsAt(a, commit)
  const active = onCommit.find((v) => v.active)
  if (active)
    throw new XpError(
      'XP_ALREADY_REGISTERED',
      `commit ${commit.slice(0, 7)} already has version ${active.version} of "${artifact}" (${GTO_ONE_VERSION_PER_COMMIT})`,
      {
        hint: `assign it a stage with \`xp model assign ${artifact} --version ${active.version} --stage STAGE\`, or register another commit`,
      },
    )
  let version: string
  if (onCommit.length) {
    const old = onCommit[0].version
    if (opts.version && opts.version !== old)
      throw new XpError(
        'XP_ONE_VERSION_PER_COMMIT',
        `commit ${commit.slice(0, 7)} had version ${old} of "${artifact}" (deregistered); another version there would break GTO (${GTO_ONE_VERSION_PER_COMMIT})`,
        {
          hint: `register ${old} again with \`xp model register ${artifact} ${commit.slice(0, 7)}\`, or register ${opts.version} on another commit`,
        },
      )
    version = old
    return {
      tag: freeName(reg, RegistryTag.register(artifact, version), artifact),
      commit,
      version,
      message: opts.message || `Registering artifact ${artifact} version ${version}`,
    }
  }
  if (opts.version) version = validateVersion(opts.version)
  else {
    const highest = highestVersion(a)
    version = highest ? bumpSemVer(parseSemVer(highest)!, opts.bump ?? 'patch') : opts.bump ? bumpSemVer(parseSemVer('v0.0.0')!, opts.bump) : FIRST_VERSION
  }
  const tag = RegistryTag.register(artifact, version)
  if (a?.versions.some((v) => v.registered && v.version === version) || reg.names.has(tag.name))
    throw new XpError('XP_VERSION_EXISTS', `version ${version} of "${artifact}" exists already (tag ${tag.name})`, {
      hint: 'choose another with --version, or let xp bump the highest',
    })
  return { tag, commit, version, message: opts.message || `Registering artifact ${artifact} version ${version}` }
}

/**
 * The artifact's path at `commit`, or a coded error: a version must point at a model. The
 * path comes from `artifacts:` in xp.yaml at that commit; the commit must hold the file
 * (or folder) there, or its pointer `<path>.xp`, or be a run that recorded it as an out.
 */
export async function requireArtifactAt(repo: Pick<Repo, 'root' | 'ctx' | 'project'>, artifact: string, commit: string): Promise<string> {
  const at = commit.slice(0, 7)
  const data = await artifactData(repo, commit, artifact)
  const colon = artifact.indexOf(':')
  const config = colon >= 0 ? `${artifact.slice(0, colon)}/xp.yaml` : 'xp.yaml'
  const name = colon >= 0 ? artifact.slice(colon + 1) : artifact
  // in a subfolder project, an artifact its own xp.yaml declares is GTO's DIR:NAME (tags `DIR=NAME@v...`)
  const dir = projectPrefix(repo)
  if (!data.path && colon < 0 && dir && (await artifactData(repo, commit, `${dir}:${name}`)).path)
    throw new XpError(
      'XP_ARTIFACT_NO_PATH',
      `"${name}" is declared in ${dir}/xp.yaml, so the registry names it ${dir}:${name} (GTO's name for an artifact of a folder)`,
      {
        hint: `use \`${dir}:${name}\`, e.g. xp model register ${dir}:${name}`,
      },
    )
  if (!data.path)
    throw new XpError(
      'XP_ARTIFACT_NO_PATH',
      `commit ${at} does not say where "${artifact}" is: ${config} there has no artifacts: entry for ${name} (nor has DVC's dvc.yaml)`,
      {
        hint: `add \`artifacts: {${name}: {path: models/model.pkl}}\` (your model's path) to ${config}, commit it with the model (a run of it does), and register that commit`,
      },
    )
  if (data.oid) return data.path
  const batch = new CatFileBatch({ cwd: repo.root, env: repo.ctx.env })
  let found: boolean
  try {
    found = !!(await batch.read(`${commit}:${data.path}`))
  } finally {
    batch.close()
  }
  if (!found) found = (await listRuns(repo, { notes: false })).some((r) => r.commit === commit && r.outs[data.path!])
  if (!found)
    throw new XpError(
      'XP_ARTIFACT_NOT_IN_COMMIT',
      `commit ${at} holds neither ${data.path} nor its pointer ${data.path}.xp, so a version of "${artifact}" there would point at nothing`,
      {
        hint: `register a run that wrote ${data.path} (list it under outs: in xp.yaml), or \`xp add ${data.path}\` and commit before registering`,
      },
    )
  return data.path
}

export interface ArtifactCheck {
  /**
   * Skip the check that the commit holds the artifact: for versions whose model lives
   * elsewhere (an MLflow model version points at its `source`). `xp model` never skips it.
   */
  anyCommit?: boolean
}

/** A tag name for kinds whose plain name may be taken already (`@deprecated`, `@vX.Y.Z!`). */
function freeName(reg: Registry, tag: RegistryTag, artifact: string): RegistryTag {
  return reg.names.has(tag.name) ? tag.withCounter(nextCounter(reg.names, artifact)) : tag
}

/**
 * Register a version of NAME at REF (default HEAD): `NAME@vX.Y.Z`.
 *
 * @example
 * await register(repo, { name: 'churn', ref: 'brisk-otter' }) // { version: 'v0.0.1', tags: ['churn@v0.0.1'], … }
 */
export async function register(
  repo: Repo,
  opts: { name: string; ref?: string; version?: string; bump?: BumpPart; message?: string } & ArtifactCheck,
): Promise<WriteResult> {
  const artifact = validateArtifactName(opts.name)
  if (opts.version) validateVersion(opts.version)
  const reg = await loadRegistry(repo)
  const target = await resolveTarget(repo, opts.ref)
  const plan = planRegistration(reg, artifact, target.commit, opts)
  const file = opts.anyCommit ? undefined : await requireArtifactAt(repo, artifact, target.commit)
  await waitForNextSecond(repo.ctx, reg.state.artifacts.get(artifact))
  await createTags(repo, [plan])
  return { artifact, version: plan.version, commit: target.commit, tags: [plan.tag.name], run: target.run, path: file }
}

/**
 * Assign STAGE to a version (by --version, or the version at REF, registering REF first
 * when it has none): `NAME#STAGE#N` on the version's commit.
 *
 * @example
 * await assign(repo, { name: 'churn', ref: 'brisk-otter', stage: 'production' })
 */
export async function assign(
  repo: Repo,
  opts: { name: string; stage: string; ref?: string; version?: string; message?: string } & ArtifactCheck,
): Promise<WriteResult> {
  const artifact = validateArtifactName(opts.name)
  const stage = validateStage(opts.stage)
  if (opts.version) validateVersion(opts.version)
  const reg = await loadRegistry(repo)
  const plans: PlannedTag[] = []
  let version: string
  let commit: string
  let run: RunInfo | null = null
  if (opts.version) {
    const v = findVersion(findArtifact(reg.state, artifact), opts.version)
    ;({ version, commit } = v)
    if (opts.ref) {
      const target = await resolveTarget(repo, opts.ref)
      if (target.commit !== commit)
        throw usageError(
          'XP_REF_MISMATCH',
          `${opts.ref} is commit ${target.commit.slice(0, 7)}, but version ${version} is on ${commit.slice(0, 7)}`,
          'give REF or --version, not both',
        )
      run = target.run
    }
  } else {
    const target = await resolveTarget(repo, opts.ref)
    ;({ commit, run } = target)
    const onCommit = versionsAt(reg.state.artifacts.get(artifact), commit)
    if (onCommit.length > 1)
      throw new XpError(
        'XP_AMBIGUOUS_VERSION',
        `commit ${commit.slice(0, 7)} has ${onCommit.length} versions of "${artifact}": ${onCommit.map((v) => v.version).join(', ')}; a stage tag there would break GTO (${GTO_ONE_VERSION_PER_COMMIT})`,
        {
          hint: 'delete the extra registration tags (`git tag -d`), then assign',
        },
      )
    if (onCommit.length && !onCommit[0].active)
      throw new XpError('XP_VERSION_NOT_FOUND', `version ${onCommit[0].version} of "${artifact}" at ${commit.slice(0, 7)} was deregistered`, {
        hint: `register it again with \`xp model register ${artifact} ${commit.slice(0, 7)}\`, then assign`,
      })
    if (onCommit.length) version = onCommit[0].version
    else {
      const r = planRegistration(reg, artifact, commit, {})
      plans.push(r)
      version = r.version
    }
  }
  const current = reg.state.artifacts.get(artifact)?.stages[stage]?.[0]
  if (current?.version === version)
    throw new XpError('XP_ALREADY_ASSIGNED', `version ${version} of "${artifact}" is already the one in stage ${stage}`, {
      hint: `see \`xp model history ${artifact}\``,
    })
  const tag = RegistryTag.assign(artifact, stage, nextCounter(reg.names, artifact))
  plans.push({ tag, commit, message: opts.message || `Assigning stage ${stage} to artifact ${artifact} version ${version}` })
  const file = opts.anyCommit ? undefined : await requireArtifactAt(repo, artifact, commit)
  await waitForNextSecond(repo.ctx, reg.state.artifacts.get(artifact))
  await createTags(repo, plans)
  return { artifact, version, commit, stage, tags: plans.map((p) => p.tag.name), run, path: file }
}

/**
 * Unassign STAGE from a version (by --version, REF, or the version the stage shows):
 * `NAME#STAGE!#N` on its commit.
 */
export async function unassign(repo: Repo, opts: { name: string; stage: string; version?: string; ref?: string; message?: string }): Promise<WriteResult> {
  const artifact = validateArtifactName(opts.name)
  const stage = validateStage(opts.stage)
  if (opts.version) validateVersion(opts.version)
  const reg = await loadRegistry(repo)
  const a = findArtifact(reg.state, artifact)
  const holders = a.stages[stage] ?? []
  let holder = holders[0]
  if (opts.version) {
    const v = findVersion(a, opts.version)
    holder = holders.find((h) => h.version === v.version)!
    if (!holder)
      throw new XpError('XP_NOT_IN_STAGE', `version ${v.version} of "${artifact}" is not in stage ${stage}`, {
        hint: holders.length ? `in ${stage}: ${holders.map((h) => h.version).join(', ')}` : undefined,
      })
  } else if (opts.ref) {
    const target = await resolveTarget(repo, opts.ref)
    holder = holders.find((h) => h.commit === target.commit)!
    if (!holder) throw new XpError('XP_NOT_IN_STAGE', `no version of "${artifact}" at ${opts.ref} is in stage ${stage}`)
  } else if (!holder) throw new XpError('XP_STAGE_EMPTY', `no version of "${artifact}" is in stage ${JSON.stringify(stage)}`)
  if (!versionsAt(a, holder.commit).length)
    throw new XpError(
      'XP_UNREGISTERED_COMMIT',
      `${stage} holds commit ${holder.commit.slice(0, 7)} of "${artifact}", which has no registered version: GTO ignores an unassignment there`,
      {
        hint: `register it first (\`xp model register ${artifact} ${holder.commit.slice(0, 7)}\`), then unassign, or assign another version to ${stage}`,
      },
    )
  const tag = RegistryTag.unassign(artifact, stage, nextCounter(reg.names, artifact))
  await waitForNextSecond(repo.ctx, a)
  // GTO's own wording, quotes and "to" included
  await createTags(repo, [
    { tag, commit: holder.commit, message: opts.message || `Unassigning stage '${stage}' to artifact '${artifact}' version '${holder.version}'` },
  ])
  return { artifact, version: holder.version, commit: holder.commit, stage, tags: [tag.name] }
}

/**
 * Deregister a version (`NAME@vX.Y.Z!`) or, with no version, deprecate the artifact
 * (`NAME@deprecated`), which hides it until a new registration revives it.
 */
export async function deprecate(repo: Repo, opts: { name: string; version?: string; message?: string }): Promise<WriteResult & { deprecated: boolean }> {
  const artifact = validateArtifactName(opts.name)
  if (opts.version) validateVersion(opts.version)
  const reg = await loadRegistry(repo)
  const a = findArtifact(reg.state, artifact)
  if (opts.version) {
    const v = findVersion(a, opts.version)
    const tag = freeName(reg, RegistryTag.deregister(artifact, v.version), artifact)
    await waitForNextSecond(repo.ctx, a)
    await createTags(repo, [{ tag, commit: v.commit, message: opts.message || `Deregistering artifact ${artifact} version ${v.version}` }])
    return { artifact, version: v.version, commit: v.commit, tags: [tag.name], deprecated: false }
  }
  if (!a.active) throw new XpError('XP_ALREADY_DEPRECATED', `"${artifact}" is deprecated already`, { hint: 'register a new version to revive it' })
  // GTO puts @deprecated on the commit of the artifact's newest event
  const commit = a.newestCommit!
  const tag = freeName(reg, RegistryTag.deprecate(artifact), artifact)
  await waitForNextSecond(repo.ctx, a)
  await createTags(repo, [{ tag, commit, message: opts.message || `Deprecating artifact '${artifact}'` }])
  return { artifact, version: a.latest?.version ?? '', commit, tags: [tag.name], deprecated: true }
}

/**
 * Tag times are seconds, and GTO orders the events of one second by its own rules, not by
 * when they were made (two assignments of one stage: the version registered first wins).
 * So xp never writes a tag in a second that already has an event of the same artifact: it
 * waits for the next one, and says so (not when the user fixed the date with
 * GIT_COMMITTER_DATE). The tags of one command (a registration and its assignment) share
 * their second, which GTO reads as meant.
 */
async function waitForNextSecond(ctx: Context, a: ArtifactState | undefined): Promise<void> {
  if (!a?.events.length || ctx.env.GIT_COMMITTER_DATE) return
  let newest = a.events[0]
  for (const e of a.events) if (e.time >= newest.time) newest = e
  const ms = (newest.time + 1) * 1000 - ctx.now().getTime()
  // a tag dated further ahead is a skewed clock: waiting would not end the tie soon
  if (ms <= 0 || ms > 3000) return
  ctx.warn(
    `waiting ${ms} ms for the next second: tag "${newest.tag}" of "${a.name}" was made in this one, and GTO orders the events of one second by its own rules`,
  )
  await new Promise((resolve) => setTimeout(resolve, ms + 5))
}

const interrupted = () => new XpError('XP_INTERRUPTED', 'interrupted before the registry was changed', {})

/** Create annotated tags in order; on a failure delete the ones made, then throw. */
async function createTags(repo: Pick<Repo, 'root' | 'ctx'>, plans: PlannedTag[]): Promise<void> {
  const made: string[] = []
  try {
    for (const p of plans) {
      if (repo.ctx.signal?.aborted) throw interrupted()
      await createTag(repo, p)
      made.push(p.tag.name)
    }
  } catch (e) {
    for (const name of made.reverse()) await git(['tag', '-d', name], { cwd: repo.root, env: repo.ctx.env, allowFail: true })
    throw e
  }
}

/** `git tag -a`, tagged by the user's identity, or a fallback one when none is configured. */
async function createTag(repo: Pick<Repo, 'root' | 'ctx'>, p: PlannedTag): Promise<void> {
  // a tag message is pushed with the registry: it passes the secret scrubber (core/safety)
  const args = ['tag', '-a', '-m', Scrubber.forEnv(repo.ctx.env).text(p.message), p.tag.name, p.commit]
  const opts = { cwd: repo.root, env: repo.ctx.env, allowFail: true, signal: repo.ctx.signal }
  const res = await gitAsAuthor(args, opts)
  if (res.code === 0) return
  if (/already exists/.test(res.stderr))
    throw new XpError('XP_TAG_EXISTS', `tag ${p.tag.name} exists already`, {
      hint: 'someone else wrote to the registry at the same time; run the command again',
    })
  throw new XpError('XP_GIT_FAILED', `git tag ${p.tag.name} failed: ${res.stderr.trim().split('\n').pop()}`)
}
