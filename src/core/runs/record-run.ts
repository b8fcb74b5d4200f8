/**
 * `xp run`: apply -S edits, read params, run the command with its output streamed to the
 * caller and to `.xp/runs/<id>/output.log`, then record the run as a commit on
 * `refs/xp/runs/<id>` whose parent is the baseline (DESIGN 2.2). The user's HEAD, branch
 * and index are never touched. A failed or interrupted command is recorded too.
 */
import fs from 'node:fs'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import type { Repo, ProjectConfig } from '../repo.js'
import { loadConfig, ensureXpDir } from '../repo.js'
import { git, gitEnv, gitAsAuthor } from '../git.js'
import { XpError, EXIT } from '../errors.js'
import { editParams, parseSetArg, readFlatFile, type Flat, type ParamEdit } from '../params.js'
import { newRunId, RunRef, validateRunName, generateName, RUNS_PREFIX } from './ref.js'
import { encodeRecord, type RunRecord, type RunStatus } from './record.js'
import { captureEnv, secretValues, scrub } from './env.js'
import { snapshotTree, largeUntracked } from './snapshot.js'
import { commandSpec } from './command.js'
import { dataBeforeRun, dataAfterRun } from './data-hooks.js'
import { pythonPackages, packagesText, PACKAGES_IN_TREE } from './python-env.js'
import { beginLiveRun, endLiveRun, liveStart, listXpLiveRuns, type LiveRunStart } from './live-run.js'
import { startSysMonitor, SYSTEM_SERIES_IN_TREE, type SysMonitor } from './sysmon.js'

export const DVCLIVE_METRICS = 'dvclive/metrics.json'
/** Metrics files read without a `metrics:` setting, when the run wrote them. */
export const DEFAULT_METRICS = [DVCLIVE_METRICS, 'metrics.json', 'metrics.yaml']
export const DVCLIVE_SERIES = 'dvclive/plots/metrics/**/*.tsv'
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
  const names = new Set<string>()
  for (const line of stdout.split('\n')) {
    const m = /^xp: (\S+) /.exec(line)
    if (m) names.add(m[1])
  }
  return names
}

function paramFiles(repo: Repo, config: ProjectConfig): string[] {
  if (config.params) return config.params
  return fs.existsSync(path.join(repo.root, 'params.yaml')) ? ['params.yaml'] : []
}

/** Parse the -S arguments into edits; a grid (several values) needs the queue. */
export function planEdits(set: string[], defaultFile: string): ParamEdit[] {
  return set.map((arg) => {
    const { file, key, values, raws } = parseSetArg(arg, defaultFile)
    if (values.length !== 1)
      throw new XpError('XP_GRID_NEEDS_QUEUE', `-S ${arg} gives ${values.length} values; a sweep needs --queue`, { hint: 'add --queue, then `xp queue start`; quote a value that contains a comma', exitCode: EXIT.usage })
    return { file, key, value: values[0], raw: raws[0] }
  })
}

export function readParams(repo: Pick<Repo, 'root'>, files: string[]): Flat {
  const params: Flat = {}
  for (const f of files) {
    const flat = readFlatFile(repo.root, f)
    if (!flat) continue
    // params from several files: later files win on a clash, the first file's keys stay bare
    const prefix = f === files[0] ? '' : `${f}:`
    for (const [k, v] of Object.entries(flat)) params[prefix + k] = v
  }
  return params
}

function readMetrics(repo: Repo, config: ProjectConfig, warn: (m: string) => void, started: Date): { metrics: Flat; files: string[] } {
  // Without `metrics:`, the usual names are taken when this run wrote them; named files are
  // expected, so their absence or age is worth a warning.
  const named = config.metrics !== undefined
  const files = named ? config.metrics! : DEFAULT_METRICS.filter((f) => fs.existsSync(path.join(repo.root, f)) && !writtenBefore(path.join(repo.root, f), started))
  const metrics: Flat = {}
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
      Object.assign(metrics, flat)
    } catch (e) {
      if (e instanceof XpError) warn(`${e.message} (the run is recorded without these metrics)`)
      else throw e
    }
  }
  return { metrics, files }
}

export async function recordRun(repo: Repo, opts: RunOptions): Promise<RunResult> {
  const { ctx } = repo
  const config = loadConfig(repo)
  const spec = commandSpec(opts.command, config.command)
  if (!spec) throw new XpError('XP_NO_COMMAND', 'no command to run', { hint: 'give one after `--` (xp run -- python train.py) or set `command:` in xp.yaml', exitCode: EXIT.usage })
  const useShellFromConfig = !opts.command?.length

  const params = paramFiles(repo, config)
  const edits = planEdits(opts.set ?? [], params[0] ?? 'params.yaml')

  const [names, head] = await Promise.all([
    runNames(repo),
    git(['rev-parse', '-q', '--verify', 'HEAD^{commit}'], { cwd: repo.root, env: ctx.env, allowFail: true }),
  ])
  let name: string
  if (opts.name !== undefined) {
    name = validateRunName(opts.name)
    if (names.has(name)) throw new XpError('XP_RUN_NAME_TAKEN', `a run named ${name} exists already`, { hint: 'choose another -n NAME, or remove the old run with `xp rm`' })
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
  const baseline = head.code === 0 ? head.stdout.trim() : null
  const before = await dataBeforeRun(repo, config)
  const runDir = path.join(repo.xpDir, 'runs', id)
  fs.mkdirSync(runDir, { recursive: true })
  const logPath = path.join(runDir, 'output.log')
  const log = fs.openSync(logPath, 'w')

  const envPromise = captureEnv(ctx, { python: looksLikePython(repo, spec.display), cacheFile: path.join(repo.xpDir, 'tmp', 'git-version.json') })
  const commandCwd = opts.cwd ?? (useShellFromConfig ? repo.root : ctx.cwd)
  const commandEnv = { ...gitEnv(ctx.env), PYTHONUNBUFFERED: ctx.env.PYTHONUNBUFFERED ?? '1', ...opts.env, XP_RUN_ID: id, XP_RUN_NAME: name }
  // read while the command runs; from the cache unless the interpreter or its packages changed
  const packagesPromise = pythonPackages({ spec, cwd: commandCwd, env: commandEnv, cacheFile: path.join(repo.xpDir, 'tmp', 'python-packages.json') }).catch(() => null)
  const started = ctx.now()
  const seriesGlobs = config.series ?? [DVCLIVE_SERIES]
  const branch = opts.branch !== undefined ? opts.branch : currentBranch(repo)
  const secrets = secretValues(ctx.env)
  // visible from now on: `xp show` lists it running, `xp ui` follows its files
  beginLiveRun(repo, { id, name, started: started.getTime(), command: scrub(spec.display, secrets), params: paramValues, series: seriesGlobs, baseline, branch, message: opts.message })
  const sysFile = path.join(runDir, 'system.jsonl')
  let monitor: SysMonitor | null = null
  const outcome = await spawnCommand({
    spec,
    cwd: commandCwd,
    env: commandEnv,
    log,
    onOutput: opts.onOutput,
    attach: opts.attach,
    onSpawn: (pid) => {
      if (config.system_metrics.interval > 0) monitor = startSysMonitor({ pid, intervalS: config.system_metrics.interval, file: sysFile, env: ctx.env })
    },
  })
  await (monitor as SysMonitor | null)?.stop()
  fs.closeSync(log)
  const ended = ctx.now()
  const status: RunStatus = outcome.interrupted ? 'interrupted' : outcome.exitCode === 0 ? 'succeeded' : 'failed'

  const { metrics, files: metricFiles } = readMetrics(repo, config, ctx.warn, started)
  const series = await findSeries(repo.root, seriesGlobs)
  const systemText = fs.existsSync(sysFile) ? fs.readFileSync(sysFile, 'utf8') : ''

  const record: RunRecord = {
    xp: 1,
    id,
    name,
    status,
    exit_code: outcome.exitCode,
    command: scrub(spec.display, secrets),
    message: opts.message,
    started: started.toISOString(),
    ended: ended.toISOString(),
    duration_s: Math.round((ended.getTime() - started.getTime())) / 1000,
    baseline,
    branch,
    params: paramValues,
    metrics,
    series: systemText ? [...series, SYSTEM_SERIES_IN_TREE] : series,
    deps: before.deps,
    outs: {},
    env: await envPromise,
    error_tail: status === 'succeeded' ? undefined : scrub(outcome.tail, secrets),
  }
  if (secrets.length) {
    for (const [k, v] of Object.entries(record.params)) if (typeof v === 'string') record.params[k] = scrub(v, secrets)
  }

  // The snapshot: what the command left, with large files and data kept out of git.
  const large = await largeUntracked(repo, config.snapshot.max_file_size, path.join(repo.gitDir, 'index'))
  const after = await dataAfterRun(repo, config, large, before)
  record.outs = after.outs
  const leftOut = large.filter((l) => !after.cached.includes(l.path) && !after.exclude.includes(l.path))
  for (const l of leftOut) ctx.warn(`${l.path} (${(l.size / 1e6).toFixed(1)} MB) is over snapshot.max_file_size and was left out of the run's snapshot; track it with \`xp add\``)

  const logText = scrub(readLogForTree(logPath), secrets)
  const packages = await packagesPromise
  const snap = await snapshotTree(repo, {
    key: id,
    large,
    maxFileSize: config.snapshot.max_file_size,
    force: [...params, ...metricFiles, ...series],
    exclude: after.exclude,
    extra: [{ path: LOG_IN_TREE, content: logText }, ...(systemText ? [{ path: SYSTEM_SERIES_IN_TREE, content: systemText }] : []), ...(packages ? [{ path: PACKAGES_IN_TREE, content: packagesText(packages) }] : []), ...after.extra],
  })
  const commit = await writeCommit(repo, snap.tree, baseline, encodeRecord(record), started)
  await git(['update-ref', '-m', `xp run ${name}`, ref, commit, ''], { cwd: repo.root, env: ctx.env, errorCode: 'XP_REF_EXISTS' })
  endLiveRun(repo, id)
  return { record, commit, ref, exitCode: outcome.interrupted ? EXIT.interrupted : outcome.exitCode ?? 1 }
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
  if (!match.length) throw new XpError('XP_RUN_NOT_FOUND', `no live run matches ${JSON.stringify(spec)}`, { hint: '`xp show` lists live runs as running or lost' })
  if (match.length > 1) throw new XpError('XP_RUN_AMBIGUOUS', `${JSON.stringify(spec)} matches ${match.length} live runs: ${match.map((r) => r.name).join(', ')}`, { hint: 'give more of the id' })
  const run = match[0]
  if (run.status !== 'lost') throw new XpError('XP_RUN_RUNNING', `run ${run.name} is still running (pid ${run.env.pid} on ${run.env.host})`, { hint: 'wait for it, or stop it; only a lost run can be recovered' })
  const start = liveStart(repo, run.id) as LiveRunStart
  const config = loadConfig(repo)
  const runDir = path.join(repo.xpDir, 'runs', run.id)
  const logPath = path.join(runDir, 'output.log')
  const sysFile = path.join(runDir, 'system.jsonl')
  const secrets = secretValues(ctx.env)
  const logText = fs.existsSync(logPath) ? scrub(readLogForTree(logPath), secrets) : ''
  const systemText = fs.existsSync(sysFile) ? fs.readFileSync(sysFile, 'utf8') : ''
  const series = await findSeries(repo.root, start.series)
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
    params: start.params,
    metrics: {},
    series: systemText ? [...series, SYSTEM_SERIES_IN_TREE] : series,
    deps: {},
    outs: {},
    env: { host: start.host, recovered: true },
    error_tail: `xp: the run was lost (its xp process ${start.pid} on ${start.host} ended without recording it); recovered by xp run --recover\n` + logText.slice(-4096),
  }
  const large = await largeUntracked(repo, config.snapshot.max_file_size, path.join(repo.gitDir, 'index'))
  const snap = await snapshotTree(repo, {
    key: run.id,
    large,
    maxFileSize: config.snapshot.max_file_size,
    force: series,
    extra: [{ path: LOG_IN_TREE, content: logText }, ...(systemText ? [{ path: SYSTEM_SERIES_IN_TREE, content: systemText }] : [])],
  })
  const ref = RunRef.fromId(run.id).toString()
  const commit = await writeCommit(repo, snap.tree, start.baseline, encodeRecord(record), new Date(start.started))
  await git(['update-ref', '-m', `xp run --recover ${run.name}`, ref, commit, ''], { cwd: repo.root, env: ctx.env, errorCode: 'XP_REF_EXISTS' })
  endLiveRun(repo, run.id)
  return { record, commit, ref, exitCode: 0 }
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

function readLogForTree(logPath: string): string {
  const size = fs.statSync(logPath).size
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

/** `git commit-tree` with the user's identity, or a fallback one so a run is never lost. */
export async function writeCommit(repo: Pick<Repo, 'root' | 'ctx'>, tree: string, parent: string | null, message: string, date?: Date): Promise<string> {
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
  log: number
  onOutput?: RunOptions['onOutput']
  attach?: RunOptions['attach']
  /** the command's pid, once it runs */
  onSpawn?: (pid: number) => void
}): Promise<Outcome> {
  return new Promise((resolve) => {
    let interrupted = false
    let tail = Buffer.alloc(0)
    const emit = (chunk: Buffer, stream: 'stdout' | 'stderr') => {
      fs.writeSync(o.log, chunk)
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
      if (spawnError) {
        const what = spawnError.code === 'ENOENT' ? `command not found: ${o.spec.file}` : `could not start ${o.spec.file}: ${spawnError.message}`
        emit(Buffer.from(`xp: ${what}\n`), 'stderr')
        return resolve({ exitCode: spawnError.code === 'ENOENT' ? 127 : 126, interrupted, tail: tail.toString('utf8') })
      }
      if (signal === 'SIGINT') interrupted = true
      const signum = signal ? ({ SIGINT: 2, SIGTERM: 15, SIGKILL: 9, SIGHUP: 1 } as Record<string, number>)[signal] ?? 1 : 0
      resolve({ exitCode: code ?? 128 + signum, interrupted, tail: tail.toString('utf8') })
    })
  })
}
