/**
 * `xp model …`: the model registry on GTO's git tags. Each subcommand maps its arguments
 * to one core call and renders the result.
 */
import type { Argv } from 'yargs'
import { cliRepo } from '../context.js'
import { printJson, renderTable, info, warn, dim } from '../output.js'
import { usageError, XpError } from '../../core/errors.js'
import type { Repo } from '../../core/repo.js'
import type { BumpPart } from '../../core/registry/semver.js'
import type { WriteResult } from '../../core/registry/ops.js'

const ops = () => import('../../core/registry/ops.js')
const describe = () => import('../../core/registry/describe.js')

const json = { json: { type: 'boolean', describe: 'print the result as JSON' } } as const
const message = { message: { alias: 'm', type: 'string', describe: 'the tag message' } } as const

/** A subcommand's handler: find the repo, then run. */
const act =
  <A>(fn: (repo: Repo, a: A) => Promise<void>) =>
  async (a: A) =>
    fn(await cliRepo(), a)

/**
 * A handler that writes tags. Ctrl-C aborts the command through its context's signal
 * instead of killing xp, so that xp deletes the tags it had made: an interrupted command,
 * like a failed one, leaves no tag. A second Ctrl-C interrupts xp as usual.
 */
const write = <A>(fn: (repo: Repo, a: A) => Promise<void>) =>
  act<A>(async (repo, a) => {
    const abort = new AbortController()
    const onInt = () => {
      if (!abort.signal.aborted) return abort.abort()
      process.off('SIGINT', onInt)
      process.kill(process.pid, 'SIGINT')
    }
    process.on('SIGINT', onInt)
    try {
      await fn({ ...repo, ctx: { ...repo.ctx, signal: abort.signal } }, a)
    } catch (e) {
      if (abort.signal.aborted) throw new XpError('XP_INTERRUPTED', 'interrupted; no tag was left behind', {})
      throw e
    } finally {
      process.off('SIGINT', onInt)
    }
  })

function reportWrite(a: { json?: boolean }, r: WriteResult, what: string) {
  if (a.json) return printJson(r)
  info(
    `${what} (tag${r.tags.length > 1 ? 's' : ''} ${r.tags.join(', ')} on ${r.commit.slice(0, 7)}${r.run ? `, run ${r.run.name}` : ''}${r.path ? `, file ${r.path}` : ''}); share with \`xp push\` or \`git push --tags\``,
  )
}

function bumpOf(a: { version?: string; 'bump-major'?: boolean; 'bump-minor'?: boolean }): BumpPart | undefined {
  const set = [a.version && '--version', a['bump-major'] && '--bump-major', a['bump-minor'] && '--bump-minor'].filter(Boolean)
  if (set.length > 1) throw usageError('XP_USAGE', `${set.join(' and ')} cannot be used together`, 'give one of --version, --bump-major, --bump-minor')
  return a['bump-major'] ? 'major' : a['bump-minor'] ? 'minor' : undefined
}

export const builder = (y: Argv) =>
  y
    .command(
      'register <name> [ref]',
      'register a version of a model: an annotated tag NAME@vX.Y.Z on a run or commit',
      (c) =>
        c
          .positional('name', { type: 'string', demandOption: true, describe: 'artifact name, e.g. churn or models/churn' })
          .positional('ref', { type: 'string', describe: 'run id, id prefix, run name or git revision (default HEAD)' })
          .option('version', { type: 'string', describe: 'the version, vX.Y.Z (default: patch bump of the highest)' })
          .option('bump-major', { type: 'boolean', describe: 'bump the major version' })
          .option('bump-minor', { type: 'boolean', describe: 'bump the minor version' })
          .options({ ...message, ...json }),
      write(async (repo, a) => {
        const bump = bumpOf(a)
        const r = await (await ops()).register(repo, { name: a.name, ref: a.ref, version: a.version, bump, message: a.message })
        reportWrite(a, r, `registered ${r.artifact} ${r.version}`)
      }),
    )
    .command(
      ['assign <name> [ref]', 'promote'],
      'assign a stage to a version (registers REF first if it has no version)',
      (c) =>
        c
          .positional('name', { type: 'string', demandOption: true })
          .positional('ref', { type: 'string', describe: 'run id, id prefix, run name or git revision (default HEAD)' })
          .option('version', { type: 'string', describe: 'the version to assign, vX.Y.Z' })
          .option('stage', { type: 'string', demandOption: true, describe: 'the stage, e.g. production' })
          .options({ ...message, ...json }),
      write(async (repo, a) => {
        const r = await (await ops()).assign(repo, { name: a.name, ref: a.ref, version: a.version, stage: a.stage, message: a.message })
        reportWrite(
          a,
          r,
          r.tags.length > 1 ? `registered ${r.artifact} ${r.version} and assigned it to ${r.stage}` : `${r.artifact} ${r.version} is now in ${r.stage}`,
        )
      }),
    )
    .command(
      'unassign <name> [ref]',
      'take a version out of a stage (default: the version the stage shows)',
      (c) =>
        c
          .positional('name', { type: 'string', demandOption: true })
          .positional('ref', { type: 'string', describe: 'run or git revision of the version' })
          .option('version', { type: 'string', describe: 'the version, vX.Y.Z' })
          .option('stage', { type: 'string', demandOption: true })
          .options({ ...message, ...json }),
      write(async (repo, a) => {
        const r = await (await ops()).unassign(repo, { name: a.name, ref: a.ref, version: a.version, stage: a.stage, message: a.message })
        reportWrite(a, r, `${r.artifact} ${r.version} left ${r.stage}`)
      }),
    )
    .command(
      'deprecate <name>',
      'deregister a version (--version), or deprecate the whole artifact',
      (c) =>
        c
          .positional('name', { type: 'string', demandOption: true })
          .option('version', { type: 'string', describe: 'deregister only this version' })
          .options({ ...message, ...json }),
      write(async (repo, a) => {
        const r = await (await ops()).deprecate(repo, { name: a.name, version: a.version, message: a.message })
        reportWrite(a, r, r.deprecated ? `deprecated ${r.artifact}` : `deregistered ${r.artifact} ${r.version}`)
      }),
    )
    .command(
      'ls',
      "every artifact's latest version and what each stage holds",
      (c) => c.option('all', { alias: 'a', type: 'boolean', describe: 'include deprecated artifacts' }).options(json),
      (a) => lsHandler(a),
    )
    .command(
      'history <name>',
      "an artifact's events, newest first, with author and time",
      (c) => c.positional('name', { type: 'string', demandOption: true }).option('asc', { type: 'boolean', describe: 'oldest first' }).options(json),
      act(async (repo, a) => {
        const events = await (await describe()).modelHistory(repo, a.name, { ascending: a.asc })
        if (a.json) return printJson(events)
        const rows = events.map((e) => [e.timestamp.replace('T', ' '), e.event, shortVersion(e.version), e.stage ?? '', e.commit.slice(0, 7), e.author, e.tag])
        process.stdout.write(renderTable(['time', 'event', 'version', 'stage', 'commit', 'author', 'tag'], rows))
      }),
    )
    .command(
      'which <spec>',
      'what NAME@vX.Y.Z, NAME@latest or NAME@STAGE is: version, commit, run, content address',
      (c) => c.positional('spec', { type: 'string', demandOption: true, describe: 'NAME@vX.Y.Z, NAME@latest or NAME@STAGE (GTO: NAME#STAGE)' }).options(json),
      act(async (repo, a) => {
        const w = await (await describe()).whichModel(repo, a.spec)
        if (a.json) return printJson(w)
        const lines = [
          ['artifact', w.artifact],
          ['version', w.version + (w.stage ? ` (in ${w.stage})` : '')],
          ['commit', w.commit],
          ['run', w.run ? `${w.run.name} (${w.run.id})` : '-'],
          ['path', w.path ?? '- (not declared under artifacts: in xp.yaml at that commit)'],
          ['oid', w.oid ?? '-'],
          ['size', w.size === null ? '-' : String(w.size)],
        ]
        process.stdout.write(lines.map(([k, v]) => `${k.padEnd(9)}${v}`).join('\n') + '\n')
      }),
    )
    .command(
      'get <spec>',
      "write a model version's artifact to PATH (fetching it from the data remote if needed)",
      (c) =>
        c
          .positional('spec', { type: 'string', demandOption: true, describe: 'NAME@vX.Y.Z, NAME@latest or NAME@STAGE' })
          .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'where to write it' })
          .option('force', { alias: 'f', type: 'boolean', describe: 'overwrite PATH even if its content is not in the cache' })
          .options(json),
      act(async (repo, a) => {
        const { getModel } = await import('../../core/registry/get.js')
        const { remoteFetcher } = await import('../../core/sync/data.js')
        const r = await getModel(repo, { spec: a.spec, output: a.output, force: a.force, fetchMissing: remoteFetcher(repo) })
        if (a.json) return printJson(r)
        info(`wrote ${r.artifact} ${r.version} to ${r.output}`)
      }),
    )
    .demandCommand(1, 'name a model command: register, assign, unassign, deprecate, ls, history, which, get')
    .example('xp model register churn brisk-otter', "register the run's model as the next version")
    .example('xp model assign churn --version v1.0.0 --stage production', 'promote a version to production')
    .example('xp model which churn@production', 'which version is in production, from which run')

export async function handler() {}

/** `xp model ls`: also called directly, without yargs, for `xp model ls [--json]` (cli/index.ts fastArgv). */
export const lsHandler = act(async (repo, a: { all?: boolean; json?: boolean }) => {
  const { showRegistry } = await import('../../core/registry/show.js')
  const { show, stages, warnings, problems } = await showRegistry(repo, { deprecated: a.all })
  for (const w of [...warnings, ...problems]) warn(w)
  if (a.json) return printJson(show)
  const names = Object.keys(show)
  if (!names.length) return info('no models registered; register one with `xp model register NAME [RUN]`')
  const rows = names.map((n) => [
    show[n].active ? n : `${n} ${dim('(deprecated)')}`,
    show[n].version ?? '-',
    ...stages.map((s) => shortVersion(show[n].stage[s])),
  ])
  process.stdout.write(renderTable(['name', 'latest', ...stages.map((s) => `#${s}`)], rows))
})

const shortVersion = (v: string | null | undefined) => (v ? (/^[0-9a-f]{40}$/.test(v) ? v.slice(0, 7) : v) : '-')
