/**
 * `xp run`: apply -S edits, read params, run the command with its output streamed to the
 * caller and to `.xp/runs/<id>/output.log`, then record the run as a commit on
 * `refs/xp/runs/<id>` whose parent is the baseline (docs/architecture.md#run-record). The user's HEAD, branch
 * and index are never touched. A failed or interrupted command is recorded too.
 */
import fs from 'node:fs'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import type { Repo, ProjectConfig } from '../repo.js'
import { loadConfig, ensureXpDir, projectPrefix } from '../repo.js'
import { git, gitEnv, gitAsAuthor } from '../git.js'
import { XpError, EXIT, diskError } from '../errors.js'
import { isInside } from '../fsutil.js'
import { editParams, parseSetArg, readFlatFile, type Flat, type ParamEdit } from '../params.js'
import { newRunId, RunRef, validateRunName, generateName, RUNS_PREFIX } from './ref.js'
import { encodeRecord, decodeRecord, type RunRecord, type RunStatus } from './record.js'
import {
  loadIndex,
  addToIndex,
  recordNameOf,
  indexEntry,
  loadRunNames,
  saveRunNames,
  appendRunName,
  writeRunNames,
  NOT_A_RECORD,
  type RecordIndex,
} from './record-index.js'
import { readRefFiles, readRefFile, refNames, createRef } from '../ref-files.js'
import { cachedIdentity, writeCommitObject } from './git-objects.js'
import { sortKeys, stringifyJson } from '../json.js'
import { captureEnv } from './env.js'
import { Scrubber, argvSecrets, commandLineSecrets, redactArgv, redactCommandLine, type LogScrubber } from '../safety/secrets.js'
import { snapshotTree, worktreeChanges } from './snapshot.js'
import { leftOutOfSnapshot } from '../safety/paths.js'
import { commandSpec, shellQuote } from './command.js'
import type { DataBefore, DataAfter } from './data-hooks.js'
import { pythonPackages, packagesText, PACKAGES_IN_TREE } from './python-env.js'
import { beginLiveRun, endLiveRun, liveStart, listXpLiveRuns, type LiveRunStart } from './live-run.js'
import { startSysMonitor, SYSTEM_SERIES_IN_TREE, type SysMonitor } from './sysmon.js'
import { workspaceDvcDeps } from '../dvc/workspace.js'

export const DVCLIVE_METRICS = 'dvclive/metrics.json'
/** Metrics files read without a `metrics:` setting, when the run wrote them. */
export const DEFAULT_METRICS = [DVCLIVE_METRICS, 'metrics.json', 'metrics.yaml']
export const DVCLIVE_SERIES = 'dvclive/plots/metrics/**/*.tsv'
/** What DVCLive's `log_param` writes; read after the run, beside params.yaml, when xp.yaml names no params. */
export const DVCLIVE_PARAMS = 'dvclive/params.yaml'
export const LOG_IN_TREE = '.xp-run/output.log'
const LOG_TREE_LIMIT = 1024 * 1024
const TAIL_BYTES = 4096

export interface RunControl {
  /** mark the run interrupted and, when `forward`, send SIGINT to the command */
  interrupt(forward: boolean): void
  kill(signal: NodeJS.Signals): void
}

export interface RunOptions {
  name?: string
  set?: string[]
  message?: string
  /** argv after `--`; empty means `command:` from xp.yaml */
  command?: string[]
  /** live output of the command, in order */
  onOutput?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void
  /** called once the command is running */
  attach?: (control: RunControl) => void
  /** extra environment for the command (the queue passes its own) */
  env?: Record<string, string>
  /** run the command from here instead of ctx.cwd */
  cwd?: string
  /** the branch to record, when the working tree's HEAD is detached on purpose (the queue's worktrees) */
  branch?: string | null
  /** where the run is registered as live (default: the repo's .xp; the queue gives its main checkout's) */
  liveXpDir?: string
}

export interface RunResult {
  record: RunRecord
  commit: string
  ref: string
  /** what `xp run` exits with: the command's code, 130 when interrupted */
  exitCode: number
}

/** True when the file exists and was last modified before `t` (a leftover of an earlier run). */
function writtenBefore(file: string, t: Date): boolean {
  try {
    // 1 s of slack for file systems with coarse timestamps
    return fs.statSync(file).mtimeMs < t.getTime() - 1000
  } catch {
    return false
  }
}

/** Series files matching the globs; fast-glob loads only when a glob's fixed folder exists. */
export async function findSeries(root: string, globs: string[]): Promise<string[]> {
  const live = globs.filter((g) => {
    const segs = g.split('/').slice(0, -1)
    const firstGlob = segs.findIndex((seg) => /[*?[\]{}!]/.test(seg))
    return fs.existsSync(path.join(root, ...(firstGlob < 0 ? segs : segs.slice(0, firstGlob))))
  })
  if (!live.length) return []
  const { default: fg } = await import('fast-glob')
  return (await fg(live, { cwd: root, onlyFiles: true, dot: false, followSymbolicLinks: false })).sort()
}

/** Names already used by runs in this repository (from the commit subjects: cheap). */
export async function runNames(repo: Pick<Repo, 'root' | 'ctx'>): Promise<Set<string>> {
  const { stdout } = await git(['for-each-ref', '--format=%(contents:subject)', RUNS_PREFIX], { cwd: repo.root, env: repo.ctx.env })
  return namesFrom(stdout.split('\n'))
}

function namesFrom(subjects: string[]): Set<string> {
  const names = new Set<string>()
  for (const line of subjects) {
    const name = nameOfSubject(line)
    if (name) names.add(name)
  }
  return names
}

/** The run name in a record's commit subject (`xp: NAME STATUS: COMMAND`); '' for another commit. */
const nameOfSubject = (subject: string) => /^xp: (\S+) /.exec(subject)?.[1] ?? ''

/**
 * The run names taken and the commit HEAD is at (null on an unborn branch), from one
 * `for-each-ref`: HEAD is read from its file and its branch listed beside the runs, where a
 * `rev-parse HEAD` cost a second git process.
 */
export async function namesAndHead(
  repo: Pick<Repo, 'root' | 'ctx' | 'gitDir'> & Partial<Pick<Repo, 'commonDir'>>,
): Promise<{ names: Set<string>; head: string | null }> {
  let headText = ''
  try {
    headText = fs.readFileSync(path.join(repo.gitDir, 'HEAD'), 'utf8').trim()
  } catch {
    // no HEAD file (reftable or an odd layout): ask git
  }
  const symref = /^ref: (refs\/\S+)$/.exec(headText)?.[1]
  const detached = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(headText) ? headText : null
  if (!symref && !detached) {
    const [names, head] = await Promise.all([
      runNames(repo),
      git(['rev-parse', '-q', '--verify', 'HEAD^{commit}'], { cwd: repo.root, env: repo.ctx.env, allowFail: true }),
    ])
    return { names, head: head.code === 0 ? head.stdout.trim() : null }
  }
  const known = repo.commonDir ? namesFromIndex(repo.commonDir, repo.ctx.env, symref, detached) : null
  if (known) return known
  const { stdout } = await git(['for-each-ref', '--format=%(objectname) %(refname)%00%(contents:subject)', RUNS_PREFIX, ...(symref ? [symref] : [])], {
    cwd: repo.root,
    env: repo.ctx.env,
  })
  let head = detached
  const byRef: Array<[string, string]> = []
  for (const line of stdout.split('\n')) {
    const nul = line.indexOf('\0')
    if (nul < 0) continue
    const sp = line.indexOf(' ')
    const ref = line.slice(sp + 1, nul)
    if (ref === symref) head = line.slice(0, sp)
    else if (ref.startsWith(RUNS_PREFIX)) byRef.push([ref, nameOfSubject(line.slice(nul + 1))])
  }
  // the next run then finds every name in run-names, without this git process
  if (repo.commonDir) writeRunNames(repo.commonDir, byRef)
  return { names: new Set(byRef.map(([, name]) => name).filter(Boolean)), head }
}

/**
 * The same, without a git process, when the refs are files: the names of the run refs from
 * their folder's listing (refs/xp/runs/ and packed-refs), each one's run name from
 * run-names beside the record index; a ref new to it (pulled, or recorded by the MLflow API
 * or a queue) is read and found in the record index (each `xp run` adds its own; any
 * listing adds the rest), then added. Null when git must be asked.
 */
function namesFromIndex(
  commonDir: string,
  env: Record<string, string | undefined>,
  symref: string | undefined,
  detached: string | null,
): { names: Set<string>; head: string | null } | null {
  if (symref && !symref.startsWith('refs/heads/')) return null
  const live = refNames(commonDir, env, RUNS_PREFIX)
  if (!live) return null
  const head = symref ? readRefFile(commonDir, env, symref) : detached
  if (head === undefined) return null
  const known = loadRunNames(commonDir)
  const missing = [...live].filter((ref) => !known.names.has(ref))
  if (missing.length) {
    const refs = readRefFiles(commonDir, env, RUNS_PREFIX)
    if (!refs) return null
    let index: RecordIndex | undefined
    const added: Array<[string, string]> = []
    for (const ref of missing) {
      const oid = refs.get(ref)
      if (oid === undefined) continue // deleted meantime
      index ??= loadIndex(commonDir)
      const entry = index.entries.get(`${oid} ${ref}`)
      if (entry === undefined) return null
      added.push([ref, entry.json.equals(NOT_A_RECORD) ? '' : (recordNameOf(entry.json) ?? '')])
    }
    saveRunNames(known, added, live)
  }
  const names = new Set<string>()
  for (const ref of live) {
    const name = known.names.get(ref)
    if (name) names.add(name)
  }
  return { names, head }
}

function paramFiles(repo: Repo, config: ProjectConfig): string[] {
  if (config.params) return config.params
  const conventional = path.posix.join(projectPrefix(repo), 'params.yaml')
  return fs.existsSync(path.join(repo.root, conventional)) ? [conventional] : []
}

/**
 * The file `-S KEY=VALUE` edits: the first params file, unless it is one DVCLive writes
 * during the run (dvc.yaml lists `dvclive/params.yaml` first when there is no params.yaml),
 * then params.yaml as in DVC.
 */
export function defaultSetFile(files: string[] | undefined, fallback = 'params.yaml'): string {
  return (files ?? []).find((f) => f !== DVCLIVE_PARAMS && !f.endsWith(`/${DVCLIVE_PARAMS}`)) ?? fallback
}

/** Parse the -S arguments into edits; a grid (several values) needs the queue. */
export function planEdits(set: string[], defaultFile: string): ParamEdit[] {
  return set.map((arg) => {
    const { file, key, values, raws, mode } = parseSetArg(arg, defaultFile)
    if (values.length !== 1)
      throw new XpError('XP_GRID_NEEDS_QUEUE', `-S ${arg} gives ${values.length} values; a sweep needs --queue`, {
        hint: 'add --queue, then `xp queue start`; quote a value that contains a comma',
      })
    return { file, key, value: values[0], raw: raws[0], ...(mode ? { mode } : {}) }
  })
}

export function readParams(repo: Pick<Repo, 'root'>, files: string[]): Flat {
  const read: Array<{ file: string; flat: Flat }> = []
  for (const f of files) {
    const flat = readFlatFile(repo.root, f)
    if (flat) read.push({ file: f, flat })
  }
  return mergeFlat(read)
}

/**
 * Values of several files in one flat map, named as `dvc exp show` names its columns: a
 * key is bare unless another file has it too, then `FILE:key`; the first file's keys
 * always stay bare (they are what `-S key=value` edits). Pure.
 *
 * @example
 * mergeFlat([{ file: 'params.yaml', flat: { lr: 1 } }, { file: 'b.yaml', flat: { lr: 2, seed: 3 } }]) // { lr: 1, 'b.yaml:lr': 2, seed: 3 }
 */
export function mergeFlat(files: Array<{ file: string; flat: Flat }>): Flat {
  const count = new Map<string, number>()
  for (const f of files) for (const k of Object.keys(f.flat)) count.set(k, (count.get(k) ?? 0) + 1)
  const out: Flat = {}
  files.forEach((f, i) => {
    for (const [k, v] of Object.entries(f.flat)) out[i === 0 || count.get(k) === 1 ? k : `${f.file}:${k}`] = v
  })
  return out
}

function readMetrics(repo: Repo, config: ProjectConfig, warn: (m: string) => void, started: Date): { metrics: Flat; files: string[] } {
  // Without `metrics:`, the usual names are taken when this run wrote them; named files are
  // expected, so their absence or age is worth a warning.
  const named = config.metrics !== undefined
  const files = named
    ? config.metrics!
    : DEFAULT_METRICS.map((f) => path.posix.join(projectPrefix(repo), f)).filter(
        (f) => fs.existsSync(path.join(repo.root, f)) && !writtenBefore(path.join(repo.root, f), started),
      )
  const read: Array<{ file: string; flat: Flat }> = []
  for (const f of files) {
    try {
      if (writtenBefore(path.join(repo.root, f), started)) {
        warn(`metrics file ${f} was not written by this run (it is older than the run); the run has no metrics from it`)
        continue
      }
      const flat = readFlatFile(repo.root, f)
      if (!flat) {
        warn(`metrics file ${f} was not written by the command; the run has no metrics from it`)
        continue
      }
      read.push({ file: f, flat })
    } catch (e) {
      if (e instanceof XpError) warn(`${e.message} (the run is recorded without these metrics)`)
      else throw e
    }
  }
  return { metrics: mergeFlat(read), files }
}

export async function recordRun(repo: Repo, opts: RunOptions): Promise<RunResult> {
  const { ctx } = repo
  const config = loadConfig(repo)
  const spec = commandSpec(opts.command, config.command)
  if (!spec)
    throw new XpError('XP_NO_COMMAND', 'no command to run', {
      hint: 'give one after `--` (xp run -- python train.py) or set `command:` in xp.yaml',
    })
  const useShellFromConfig = !opts.command?.length

  const params = paramFiles(repo, config)
  const edits = planEdits(opts.set ?? [], defaultSetFile(params, path.posix.join(projectPrefix(repo), 'params.yaml')))

  const { names, head } = await namesAndHead(repo)
  let name: string
  if (opts.name !== undefined) {
    name = validateRunName(opts.name)
    if (names.has(name))
      throw new XpError('XP_RUN_NAME_TAKEN', `a run named ${name} exists already`, { hint: 'choose another -n NAME, or remove the old run with `xp rm`' })
  } else {
    name = generateName()
    for (let i = 0; names.has(name); i++) name = i < 20 ? generateName() : `${generateName()}-${randomBytes(2).toString('hex')}`
  }

  // Nothing is run or recorded if params are bad: edits are validated, then applied, then read.
  if (edits.length) editParams(repo.root, edits)
  const paramValues = readParams(repo, params.length ? params : [...new Set(edits.map((e) => e.file))])

  ensureXpDir(repo)
  const id = newRunId(ctx.now())
  const ref = RunRef.fromId(id).toString()
  const baseline = head
  checkNotInterrupted(ctx.signal)
  // the data modules (the cache, hashing, the stat cache) load only for a run with data:
  // a plain run does not pay for loading them (issue 16)
  const before: DataBefore = config.deps.length ? await (await import('./data-hooks.js')).dataBeforeRun(repo, config) : { deps: {} }
  // the command may write its deps and outs: none of them may be a cache object (hardlink, symlink)
  const shared = [...Object.keys(before.deps), ...config.outs]
  if (shared.length) await (await import('../cache/materialize.js')).unshareLinks(repo, shared)
  const runDir = path.join(repo.xpDir, 'runs', id)
  const logPath = path.join(runDir, 'output.log')
  const log = openLog(runDir, logPath, ctx.warn)
  // the log on disk is scrubbed as it streams: nothing under .xp/ holds a secret (core/safety)
  const scrubber = Scrubber.forEnv(ctx.env, opts.command && opts.command.length > 1 ? argvSecrets(opts.command) : commandLineSecrets(spec.display))
  // a signal during the preparation (hashing a large dep) means the command never starts
  try {
    checkNotInterrupted(ctx.signal)
  } catch (e) {
    log.close()
    fs.rmSync(runDir, { recursive: true, force: true })
    throw e
  }

  const envPromise = captureEnv(ctx, { python: looksLikePython(repo, spec.display), cacheFile: path.join(repo.xpDir, 'tmp', 'git-version.json') })
  const commandCwd = opts.cwd ?? (useShellFromConfig ? (repo.project ?? repo.root) : ctx.cwd)
  const commandEnv = { ...gitEnv(ctx.env), PYTHONUNBUFFERED: ctx.env.PYTHONUNBUFFERED ?? '1', ...opts.env, XP_RUN_ID: id, XP_RUN_NAME: name }
  // read while the command runs; from the cache unless the interpreter or its packages changed
  const packagesPromise = pythonPackages({ spec, cwd: commandCwd, env: commandEnv, cacheFile: path.join(repo.xpDir, 'tmp', 'python-packages.json') }).catch(
    () => null,
  )
  const started = ctx.now()
  const seriesGlobs = config.series ?? [path.posix.join(projectPrefix(repo), DVCLIVE_SERIES)]
  const branch = opts.branch !== undefined ? opts.branch : currentBranch(repo)
  const shownCommand =
    opts.command && opts.command.length > 1 ? redactArgv(opts.command, scrubber).map(shellQuoteMasked).join(' ') : redactCommandLine(spec.display, scrubber)
  const shownMessage = opts.message === undefined ? undefined : scrubber.text(opts.message)
  // visible from now on: `xp show` lists it running, `xp ui` follows its files
  const liveParams: Flat = {}
  for (const [k, v] of Object.entries(paramValues)) liveParams[k] = typeof v === 'string' ? scrubber.text(v) : v
  const liveRepo = { xpDir: opts.liveXpDir ?? repo.xpDir }
  beginLiveRun(liveRepo, {
    id,
    name,
    started: started.getTime(),
    command: shownCommand,
    params: liveParams,
    series: seriesGlobs,
    baseline,
    branch,
    message: shownMessage,
    project: projectPrefix(repo),
    root: repo.root,
    run_dir: runDir,
  })
  const sysFile = path.join(runDir, 'system.jsonl')
  let monitor: SysMonitor | null = null
  const outcome = await spawnCommand({
    spec,
    cwd: commandCwd,
    env: commandEnv,
    log,
    logScrubber: scrubber.stream(),
    onOutput: opts.onOutput,
    attach: opts.attach,
    onSpawn: (pid) => {
      if (config.system_metrics.interval > 0) monitor = startSysMonitor({ pid, intervalS: config.system_metrics.interval, file: sysFile, env: ctx.env })
    },
  })
  await (monitor as SysMonitor | null)?.stop()
  log.close()
  const ended = ctx.now()
  // the listing for the snapshot starts now, while the metrics, params and series are read
  // (nothing below writes to the working tree before it is used)
  const changesP = worktreeChanges(repo, config.snapshot.max_file_size)
  changesP.catch(() => {}) // awaited below; an error before that must not leave it unhandled
  const status: RunStatus = outcome.interrupted ? 'interrupted' : outcome.exitCode === 0 ? 'succeeded' : 'failed'

  const { metrics, files: metricFiles } = readMetrics(repo, config, ctx.warn, started)
  // Params files the command wrote (DVCLive's log_param) are read as it left them.
  const dvcliveParams = path.posix.join(projectPrefix(repo), DVCLIVE_PARAMS)
  const lateParams = config.params
    ? params.filter((f) => !writtenBefore(path.join(repo.root, f), started))
    : fs.existsSync(path.join(repo.root, dvcliveParams)) && !writtenBefore(path.join(repo.root, dvcliveParams), started)
      ? [dvcliveParams]
      : []
  const paramsRead = [...new Set([...params, ...lateParams])]
  const finalParams = lateParams.length ? (readParamsSafe(repo, paramsRead, ctx.warn) ?? paramValues) : paramValues
  warnIfEmpty(repo, config, finalParams, metrics)
  const series = await findSeries(repo.root, seriesGlobs)
  const systemText = fs.existsSync(sysFile) ? fs.readFileSync(sysFile, 'utf8') : ''

  const record: RunRecord = {
    xp: 1,
    id,
    name,
    status,
    exit_code: outcome.exitCode,
    command: shownCommand,
    message: shownMessage,
    started: started.toISOString(),
    ended: ended.toISOString(),
    duration_s: Math.round(ended.getTime() - started.getTime()) / 1000,
    baseline,
    branch,
    project: projectPrefix(repo),
    params: finalParams,
    metrics,
    series: systemText ? [...series, SYSTEM_SERIES_IN_TREE] : series,
    deps: { ...(await workspaceDvcDeps(repo, before.deps)), ...before.deps },
    outs: {},
    env: await envPromise,
    error_tail: status === 'succeeded' ? undefined : scrubber.text(outcome.tail),
  }
  for (const [k, v] of Object.entries(record.params)) if (typeof v === 'string') record.params[k] = scrubber.text(v)

  // The snapshot: what the command left, with large files and data kept out of git.
  // one ls-files: what changed, the untracked files, the large ones (the snapshot reuses it)
  const changes = await changesP
  // a large file that looks like a secret is left out too, never cached and pushed as data (core/safety)
  const largeAll = changes.large
  const secretLarge = new Set(
    leftOutOfSnapshot(
      largeAll.map((l) => l.path),
      config.snapshot,
    ),
  )
  const large = largeAll.filter((l) => !secretLarge.has(l.path))
  const after: DataAfter =
    config.outs.length || large.length || Object.keys(before.deps).length
      ? await (await import('./data-hooks.js')).dataAfterRun(repo, config, large, before)
      : { outs: {}, extra: [], exclude: [], cached: [] }
  record.outs = after.outs
  const leftOut = large.filter((l) => !after.cached.includes(l.path) && !after.exclude.includes(l.path))
  for (const l of leftOut)
    ctx.warn(`${l.path} (${(l.size / 1e6).toFixed(1)} MB) is over snapshot.max_file_size and was left out of the run's snapshot; track it with \`xp add\``)

  const logText = log.notice() + readLogForTree(logPath, scrubber.text(outcome.tail))
  const packages = await packagesPromise
  const snap = await snapshotTree(repo, {
    key: id,
    large,
    // outs get a .gitignore line after the listing: then the snapshot lists again
    changes: Object.keys(after.outs).length ? undefined : changes,
    maxFileSize: config.snapshot.max_file_size,
    force: [...paramsRead, ...metricFiles, ...series],
    exclude: after.exclude,
    extra: [
      { path: LOG_IN_TREE, content: logText },
      ...(systemText ? [{ path: SYSTEM_SERIES_IN_TREE, content: systemText }] : []),
      ...(packages ? [{ path: PACKAGES_IN_TREE, content: packagesText(packages) }] : []),
      ...after.extra,
    ],
    include: config.snapshot.include,
    excludeGlobs: config.snapshot.exclude,
  })
  if (snap.leftOut.length) {
    record.left_out = snap.leftOut
    ctx.warn(
      `left out of the run's snapshot (they look like secrets or match snapshot.exclude): ${snap.leftOut.slice(0, 10).join(', ')}${snap.leftOut.length > 10 ? ` and ${snap.leftOut.length - 10} more` : ''}; list them in snapshot.include in xp.yaml to keep them`,
    )
  }
  const commit = await writeCommit(repo, snap.tree, baseline, encodeRecord(record), started)
  await createRef(repo, ref, commit, `xp run ${name}`)
  // the listing (xp show) and the next run's names then find it without reading the commit
  addToIndex(repo.commonDir, [
    [`${commit} ${ref}`, indexEntry(Buffer.from(stringifyJson(sortKeys({ ...decodeRecord(encodeRecord(record)), commit, ref }))), record.project)],
  ])
  appendRunName(repo.commonDir, ref, name)
  endLiveRun(liveRepo, id)
  return { record, commit, ref, exitCode: outcome.interrupted ? EXIT.interrupted : (outcome.exitCode ?? 1) }
}

/**
 * `xp run --recover RUN`: record a lost run (its xp process died before recording: kill -9,
 * a reboot) as failed, with what it left: the working tree as it is, its series so far, its
 * output log and system metrics. XP_RUN_RUNNING while its process still lives.
 *
 * @example
 * const { record } = await recoverRun(repo, 'brisk-otter') // record.status === 'failed'
 */
export async function recoverRun(repo: Repo, spec: string): Promise<RunResult> {
  const { ctx } = repo
  const live = listXpLiveRuns(repo)
  const match = live.filter((r) => r.id === spec || r.name === spec || (spec.length >= 4 && r.id.startsWith(spec)))
  if (!match.length)
    throw new XpError('XP_RUN_NOT_FOUND', `no live run matches ${JSON.stringify(spec)}`, { hint: '`xp show` lists live runs as running or lost' })
  if (match.length > 1)
    throw new XpError('XP_RUN_AMBIGUOUS', `${JSON.stringify(spec)} matches ${match.length} live runs: ${match.map((r) => r.name).join(', ')}`, {
      hint: 'give more of the id',
    })
  const run = match[0]
  if (run.status !== 'lost')
    throw new XpError('XP_RUN_RUNNING', `run ${run.name} is still running (pid ${run.env.pid} on ${run.env.host})`, {
      hint: 'wait for it, or stop it; only a lost run can be recovered',
    })
  const start = liveStart(repo, run.id) as LiveRunStart
  const config = loadConfig(repo)
  const runDir = start.run_dir
  const logPath = path.join(runDir, 'output.log')
  const sysFile = path.join(runDir, 'system.jsonl')
  // the log on disk was scrubbed as it streamed
  const logText = fs.existsSync(logPath) ? readLogForTree(logPath, '') : ''
  const systemText = fs.existsSync(sysFile) ? fs.readFileSync(sysFile, 'utf8') : ''
  const series = start.root === repo.root ? await findSeries(repo.root, start.series) : []
  const ended = ctx.now()
  const record: RunRecord = {
    xp: 1,
    id: run.id,
    name: run.name,
    status: 'failed',
    exit_code: null,
    command: start.command,
    message: start.message,
    started: new Date(start.started).toISOString(),
    ended: ended.toISOString(),
    duration_s: Math.max(0, Math.round(ended.getTime() - start.started) / 1000),
    baseline: start.baseline,
    branch: start.branch,
    // the project it was started in (a live file from before runs had one: where it is recovered)
    project: start.project ?? projectPrefix(repo),
    params: start.params,
    metrics: {},
    series: systemText ? [...series, SYSTEM_SERIES_IN_TREE] : series,
    deps: {},
    outs: {},
    env: { host: start.host, recovered: true },
    error_tail:
      `xp: the run was lost (its xp process ${start.pid} on ${start.host} ended without recording it); recovered by xp run --recover\n` + logText.slice(-4096),
  }
  const changes = await worktreeChanges(repo, config.snapshot.max_file_size)
  const largeAll = changes.large
  const secretLarge = new Set(
    leftOutOfSnapshot(
      largeAll.map((l) => l.path),
      config.snapshot,
    ),
  )
  const large = largeAll.filter((l) => !secretLarge.has(l.path))
  const snap = await snapshotTree(repo, {
    key: run.id,
    large,
    changes,
    maxFileSize: config.snapshot.max_file_size,
    include: config.snapshot.include,
    excludeGlobs: config.snapshot.exclude,
    force: series,
    extra: [{ path: LOG_IN_TREE, content: logText }, ...(systemText ? [{ path: SYSTEM_SERIES_IN_TREE, content: systemText }] : [])],
  })
  const ref = RunRef.fromId(run.id).toString()
  const commit = await writeCommit(repo, snap.tree, start.baseline, encodeRecord(record), new Date(start.started))
  await createRef(repo, ref, commit, `xp run --recover ${run.name}`)
  endLiveRun(repo, run.id)
  return { record, commit, ref, exitCode: 0 }
}

/**
 * A run must not be recorded empty without a word (a run started in a subfolder that is not
 * a project reads the root's files): a configured params file that is missing, or a run
 * with no params and no metrics at all, is named, with the folder that would have them.
 */
function warnIfEmpty(repo: Repo, config: ProjectConfig, params: Flat, metrics: Flat): void {
  const { ctx } = repo
  for (const f of config.params ?? [])
    if (!fs.existsSync(path.join(repo.root, f))) ctx.warn(`params file ${f} does not exist; the run records no params from it`)
  if (Object.keys(params).length || Object.keys(metrics).length) return
  const project = repo.project ?? repo.root
  const where = projectPrefix(repo) ? `${projectPrefix(repo)}/` : 'the repository root'
  const here = path.relative(repo.root, ctx.cwd).split(path.sep).join('/')
  const strayHere =
    ctx.cwd !== project && isInside(repo.root, ctx.cwd) && ['params.yaml', 'xp.yaml', ...DEFAULT_METRICS].some((f) => fs.existsSync(path.join(ctx.cwd, f)))
  if (strayHere)
    ctx.warn(
      `the run recorded no params and no metrics: the project is ${where}, not ${here}/, whose files are not read; run \`xp init\` in ${here}/ to make it a project of its own`,
    )
  else
    ctx.warn(
      `the run recorded no params and no metrics: ${where} has no params.yaml and the command wrote no ${DEFAULT_METRICS.join(', ')}; name your files under params: and metrics: in xp.yaml`,
    )
}

/** readParams after the run: a params file the command wrote badly costs its values, not the run. */
function readParamsSafe(repo: Repo, files: string[], warn: (m: string) => void): Flat | undefined {
  try {
    return readParams(repo, files)
  } catch (e) {
    if (!(e instanceof XpError)) throw e
    warn(`${e.message} (the run is recorded with the params read before it)`)
    return undefined
  }
}

/** The branch HEAD names, read from the HEAD file (a spawn saved); null when detached. */
export function currentBranch(repo: Pick<Repo, 'gitDir'>): string | null {
  try {
    const m = /^ref: refs\/heads\/(.+)$/m.exec(fs.readFileSync(path.join(repo.gitDir, 'HEAD'), 'utf8'))
    return m ? m[1].trim() : null
  } catch {
    return null
  }
}

/** Probe Python's version only for runs that use it (a pyenv shim takes 250 ms to answer). */
function looksLikePython(repo: Repo, command: string): boolean {
  if (/python|\.py\b|pytest|jupyter|ipython|conda|poetry|\buv\b/i.test(command)) return true
  return ['pyproject.toml', 'requirements.txt', 'setup.py', 'environment.yml'].some((f) => fs.existsSync(path.join(repo.root, f)))
}

/**
 * The run's log file. A full disk (or `.xp/` deleted under the run) stops the log, never
 * the run: the output keeps streaming to the caller, the run is recorded, and its log in
 * the tree says where it was cut.
 */
interface RunLog {
  write(chunk: Buffer): void
  close(): void
  /** a first line for the log in the tree when it was cut, else '' */
  notice(): string
}

function openLog(runDir: string, logPath: string, warn: (m: string) => void): RunLog {
  let fd = -1
  let written = 0
  let cut: string | null = null
  const stop = (e: unknown) => {
    const err = diskError(e, logPath)
    cut = err instanceof XpError ? err.message.replace(/; nothing partial was kept$/, '') : `${(e as Error).message}`
    warn(`the run's log stopped at ${written} bytes: ${cut}; the run goes on and is recorded`)
    if (fd >= 0) {
      try {
        fs.closeSync(fd)
      } catch {
        // gone
      }
    }
    fd = -1
  }
  try {
    fs.mkdirSync(runDir, { recursive: true })
    fd = fs.openSync(logPath, 'w')
  } catch (e) {
    stop(e)
  }
  return {
    write(chunk) {
      if (fd < 0) return
      try {
        fs.writeSync(fd, chunk)
        written += chunk.length
      } catch (e) {
        stop(e)
      }
    },
    close() {
      if (fd >= 0) fs.closeSync(fd)
      fd = -1
    },
    notice: () => (cut ? `[xp: the log was cut after ${written} bytes (${cut}); what follows is all that was kept]\n` : ''),
  }
}

function checkNotInterrupted(signal: AbortSignal | undefined) {
  if (signal?.aborted) throw new XpError('XP_INTERRUPTED', 'interrupted before the command started; it was not run and nothing was recorded', {})
}

function readLogForTree(logPath: string, tail: string): string {
  let size: number
  try {
    size = fs.statSync(logPath).size
  } catch {
    // the log file went away (`.xp/` deleted under the run): its tail was kept in memory
    return `[xp: the log file ${logPath} was removed during the run; this is the tail of the output]\n${tail}`
  }
  if (size <= LOG_TREE_LIMIT) return fs.readFileSync(logPath, 'utf8')
  const fd = fs.openSync(logPath, 'r')
  try {
    const buf = Buffer.alloc(LOG_TREE_LIMIT)
    fs.readSync(fd, buf, 0, LOG_TREE_LIMIT, size - LOG_TREE_LIMIT)
    return `[xp: output was ${size} bytes; this is its last ${LOG_TREE_LIMIT}]\n` + buf.toString('utf8')
  } finally {
    fs.closeSync(fd)
  }
}

/** Quote a redacted argument for display; the mask itself needs no quotes. */
function shellQuoteMasked(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./*-]+$/.test(arg) ? arg : shellQuote(arg)
}

/**
 * The commit `git commit-tree` would write, with the user's identity (or a fallback one so
 * a run is never lost): in-process when the identity is known (cachedIdentity), else by git.
 */
export async function writeCommit(
  repo: Pick<Repo, 'root' | 'ctx' | 'commonDir' | 'gitDir' | 'xpDir'>,
  tree: string,
  parent: string | null,
  message: string,
  date?: Date,
): Promise<string> {
  const who = await cachedIdentity(repo)
  if (who) return writeCommitObject(repo.commonDir, 'sha1', { tree, parent, ...who, authorDate: date ?? repo.ctx.now(), commitDate: repo.ctx.now(), message })
  const args = ['commit-tree', tree, ...(parent ? ['-p', parent] : [])]
  const dates = date ? { GIT_AUTHOR_DATE: repo.ctx.env.GIT_AUTHOR_DATE ?? `${Math.floor(date.getTime() / 1000)} +0000` } : {}
  const { stdout } = await gitAsAuthor(args, { cwd: repo.root, env: { ...repo.ctx.env, ...dates }, input: message })
  return stdout.trim()
}

interface Outcome {
  exitCode: number | null
  interrupted: boolean
  tail: string
}

function spawnCommand(o: {
  spec: NonNullable<ReturnType<typeof commandSpec>>
  cwd: string
  env: Record<string, string>
  log: RunLog
  logScrubber: LogScrubber
  onOutput?: RunOptions['onOutput']
  attach?: RunOptions['attach']
  /** the command's pid, once it runs */
  onSpawn?: (pid: number) => void
}): Promise<Outcome> {
  return new Promise((resolve) => {
    let interrupted = false
    let tail = Buffer.alloc(0)
    const emit = (chunk: Buffer, stream: 'stdout' | 'stderr') => {
      const clean = o.logScrubber.push(chunk)
      if (clean.length) o.log.write(clean)
      tail = Buffer.concat([tail, chunk]).subarray(-TAIL_BYTES)
      o.onOutput?.(chunk, stream)
    }
    const child = spawn(o.spec.file, o.spec.args, { cwd: o.cwd, env: o.env, stdio: ['inherit', 'pipe', 'pipe'] })
    let spawnError: NodeJS.ErrnoException | null = null
    child.on('error', (e: NodeJS.ErrnoException) => {
      spawnError = e
    })
    if (child.pid !== undefined) o.onSpawn?.(child.pid)
    child.stdout!.on('data', (d: Buffer) => emit(d, 'stdout'))
    child.stderr!.on('data', (d: Buffer) => emit(d, 'stderr'))
    o.attach?.({
      interrupt(forward) {
        interrupted = true
        if (forward && child.exitCode === null) child.kill('SIGINT')
      },
      kill(signal) {
        if (child.exitCode === null) child.kill(signal)
      },
    })
    child.on('close', (code, signal) => {
      const rest = o.logScrubber.end()
      if (rest.length) o.log.write(rest)
      if (spawnError) {
        const what = spawnError.code === 'ENOENT' ? `command not found: ${o.spec.file}` : `could not start ${o.spec.file}: ${spawnError.message}`
        emit(Buffer.from(`xp: ${what}\n`), 'stderr')
        return resolve({ exitCode: spawnError.code === 'ENOENT' ? 127 : 126, interrupted, tail: tail.toString('utf8') })
      }
      if (signal === 'SIGINT' || signal === 'SIGTERM' || signal === 'SIGHUP') interrupted = true
      const signum = signal ? (({ SIGINT: 2, SIGTERM: 15, SIGKILL: 9, SIGHUP: 1 } as Record<string, number>)[signal] ?? 1) : 0
      resolve({ exitCode: code ?? 128 + signum, interrupted, tail: tail.toString('utf8') })
    })
  })
}
