/**
 * The Slurm executor. `xp queue start --slurm` submits the queued tasks as one job array
 * (`--array=0-N%J`); each element runs `xp queue run-task`, which does exactly what a local
 * worker does for one task (execute.ts). Results come back through the repository on the
 * cluster's shared file system, or, with `--via-remote`, through a git remote and the data
 * remote (the job clones, runs, `xp push`es; `xp queue status` and `xp pull` bring the runs
 * back). Status is one `squeue` call for every task; cancel is `scancel`.
 *
 * No shell is built from user strings: sbatch gets its options as argv, the batch script
 * is a constant that reads what it needs from variables sbatch exports, and the tasks a
 * job without the shared file system needs travel in the script as base64.
 */
import fs from 'node:fs'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { configFile, type Repo } from '../../repo.js'
import { XpError } from '../../errors.js'
import { parseStructured } from '../../params.js'
import { writeFileAtomic } from '../../fsutil.js'
import { git } from '../../git.js'
import { queuePaths, writeTask, readTask, listTasks, cancelFile, readClaim, claimAlive, type Task, type QueuePaths, type SlurmInfo } from '../task.js'
import type { Executor, ExecutorStatus, SubmitOptions } from './types.js'

/** sbatch options from `slurm:` in xp.yaml: `{partition: gpu, time: "4:00:00", gres: "gpu:1"}` -> `--partition=gpu`... */
export function configSbatchArgs(repo: Pick<Repo, 'root' | 'project'>): string[] {
  const file = configFile(repo)
  if (!fs.existsSync(file)) return []
  const raw = parseStructured(fs.readFileSync(file, 'utf8'), 'xp.yaml') as Record<string, unknown> | null
  const s = raw && typeof raw === 'object' ? raw.slurm : undefined
  if (s === undefined || s === null) return []
  if (typeof s !== 'object' || Array.isArray(s))
    throw new XpError('XP_BAD_CONFIG', 'xp.yaml: "slurm" must be a mapping of sbatch options (partition: gpu, time: "4:00:00")')
  return Object.entries(s as Record<string, unknown>).map(([k, v]) => {
    const opt = k.replace(/_/g, '-')
    if (!/^[a-z][a-z-]*$/.test(opt) || (typeof v !== 'string' && typeof v !== 'number') || /[\n\0]/.test(String(v)))
      throw new XpError('XP_BAD_CONFIG', `xp.yaml: slurm.${k} must be an sbatch option name with a string or number value`)
    return `--${opt}=${v}`
  })
}

/** sbatch's own batch script: a constant; what varies comes in exported variables and, for `--via-remote`, base64 lines. */
const SCRIPT = `#!/bin/sh
# xp queue: one task of a job array (xp queue start --slurm). Generated; safe to delete once the jobs ended.
exec "\${XP_SLURM_NODE:-node}" \${XP_SLURM_XP:+"$XP_SLURM_XP"} queue run-task --batch "$XP_SLURM_BATCH"
`
const REMOTE_SCRIPT = `#!/bin/sh
# xp queue --via-remote: one task of a job array. Generated; the tasks follow as base64.
exec "\${XP_SLURM_NODE:-node}" \${XP_SLURM_XP:+"$XP_SLURM_XP"} queue run-task --via-remote "$XP_SLURM_REMOTE" --batch - <<'END_TASKS'
`

export interface SlurmOptions {
  /** node and the xp entry point the jobs run (sbatch exports the environment, so a loaded module's PATH travels); the single executable is `node` with no entry point */
  node: string
  xp: string
  /** sbatch options from `start` (after xp.yaml's; a task's own come last) */
  sbatch?: string[]
  /** a git remote (name or URL) to bring results back through, when nodes do not share this file system */
  viaRemote?: string
}

interface ToolResult {
  code: number
  stdout: string
  stderr: string
}

const CLIENT_HINT =
  'install the Slurm client (Debian/Ubuntu: apt-get install slurm-client; on a cluster: module load slurm), or run the queue here with `xp queue start`'

/** Run a Slurm command (argv, no shell). Missing binary -> XP_SLURM_MISSING naming the package. */
function slurmTool(repo: Pick<Repo, 'ctx' | 'root'>, tool: string, args: string[], extraEnv: Record<string, string> = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { cwd: repo.root, env: { ...repo.ctx.env, ...extraEnv } as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') reject(new XpError('XP_SLURM_MISSING', `${tool} was not found: the Slurm client is not installed here`, { hint: CLIENT_HINT }))
      else reject(new XpError('XP_SLURM_FAILED', `could not start ${tool}: ${e.message}`))
    })
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }))
  })
}

/** The last meaningful line of a Slurm command's stderr ("sbatch: error: Batch job submission failed: Invalid partition name specified"). */
function slurmMessage(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
  return (lines.filter((l) => /error/i.test(l)).pop() ?? lines.pop() ?? 'no message').replace(/^\w+: error: /, '')
}

/** The git remote's URL (a name is looked up), for jobs that clone it on another machine. */
async function remoteUrl(repo: Repo, remote: string): Promise<string> {
  const res = await git(['remote', 'get-url', remote], { cwd: repo.root, env: repo.ctx.env, allowFail: true })
  const url = res.code === 0 ? res.stdout.trim() : remote
  // the URL travels in the job's environment and the task files: never with a password or token in it
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/i.test(url) || /[?&](sig|token|secret|password)=/i.test(url))
    throw new XpError(
      'XP_SECRET_IN_URL',
      `${res.code === 0 ? `the git remote ${remote}` : 'the URL given to --via-remote'} carries credentials, which would be written into the jobs' environment and the task files`,
      {
        hint: 'use a URL without them and let the nodes authenticate with an ssh key or a git credential helper',
      },
    )
  // a path is made absolute: the job runs elsewhere
  return /^[a-z][a-z0-9+.-]*:\/\/|^[^/]+@[^/]+:/i.test(url) ? url : path.resolve(repo.root, url)
}

/** What a task's snapshot needs on the remotes before a job elsewhere can run it: its commits, and the data its pointers name. */
async function publishSnapshots(repo: Repo, url: string, tasks: Task[]): Promise<void> {
  const refs = [...new Set(tasks.map((t) => t.ref))]
  const res = await git(['push', '-q', url, ...refs.map((r) => `${r}:${r}`)], { cwd: repo.root, env: repo.ctx.env, allowFail: true })
  if (res.code !== 0) throw new XpError('XP_GIT_REMOTE_FAILED', `could not push the queued snapshots to ${url}: ${res.stderr.trim().split('\n').pop()}`, {})
  const { referencedData, openDataRemote } = await import('../../sync/data.js')
  const { uploadObjects } = await import('../../sync/transfer.js')
  const { loadConfig } = await import('../../repo.js')
  const oids = await referencedData(repo, { commits: [...new Set(tasks.map((t) => t.snapshot))], worktree: false })
  if (!oids.length) return
  const remote = await openDataRemote(repo, loadConfig(repo), undefined)
  if (!remote)
    throw new XpError('XP_NO_DATA_REMOTE', `the queued tasks need ${oids.length} data object${oids.length === 1 ? '' : 's'} and no data remote is set`, {
      hint: 'add one with `xp remote add NAME URL --default`: the jobs fetch their data from it',
    })
  try {
    await uploadObjects(repo.ctx, repo.cacheDir, remote, oids)
  } finally {
    remote.close()
  }
}

/**
 * Submit tasks as job arrays: one per distinct set of per-task sbatch options (usually
 * one for the whole sweep), `%jobs` at once. Returns the tasks with their job ids. A
 * refusal (bad partition, over a limit) is XP_SLURM_SUBMIT with sbatch's message, and the
 * tasks stay queued as they were.
 */
async function submit(repo: Repo, o: SlurmOptions, tasks: Task[], opts: SubmitOptions): Promise<Task[]> {
  const q = queuePaths(repo)
  if (!tasks.length) return []
  const base = configSbatchArgs(repo)
  const url = o.viaRemote ? await remoteUrl(repo, o.viaRemote) : undefined
  // sbatch first answers whether it is here at all, before anything is pushed
  await slurmTool(repo, 'sbatch', ['--version'])
  if (url) await publishSnapshots(repo, url, tasks)
  const groups = new Map<string, Task[]>()
  for (const t of tasks) {
    const key = JSON.stringify(t.sbatch ?? [])
    groups.set(key, [...(groups.get(key) ?? []), t])
  }
  const dir = path.join(q.dir, 'slurm')
  fs.mkdirSync(dir, { recursive: true })
  const out: Task[] = []
  for (const group of groups.values()) {
    const batch = group[0].id
    const ids = path.join(dir, `${batch}.ids`)
    const script = path.join(dir, `${batch}.sh`)
    writeFileAtomic(ids, group.map((t) => t.id).join('\n') + '\n')
    const b64 = url
      ? Buffer.from(JSON.stringify(group))
          .toString('base64')
          .replace(/.{1,76}/g, '$&\n')
      : ''
    writeFileAtomic(script, url ? `${REMOTE_SCRIPT}${b64}END_TASKS\n` : SCRIPT)
    // where the job's output goes: on the shared file system, beside the queue; with a remote, in the job's node-local folder
    const given = [...base, ...(o.sbatch ?? []), ...(group[0].sbatch ?? [])]
      .filter((a) => /^(--output|-o)=/.test(a))
      .pop()
      ?.replace(/^[^=]+=/, '')
    const output = given ?? (url ? path.join('/tmp', 'xp-slurm-%A_%a.out') : path.join(dir, 'slurm-%A_%a.out'))
    const throttle = opts.jobs > 0 && opts.jobs < group.length ? `%${opts.jobs}` : ''
    const args = [
      '--parsable',
      `--array=0-${group.length - 1}${throttle}`,
      `--job-name=xp-${group[0].name.replace(/-\d+$/, '')}`.slice(0, 64),
      `--output=${output}`,
      // a lost node ends the task as NODE_FAIL, for `xp queue retry`; Slurm's own requeue would run it again behind xp's back
      '--no-requeue',
      ...(url ? [] : [`--chdir=${repo.root}`]),
      ...base,
      ...(o.sbatch ?? []),
      ...(group[0].sbatch ?? []),
      script,
    ]
    const env = { XP_SLURM_NODE: o.node, XP_SLURM_XP: o.xp, XP_SLURM_BATCH: ids, ...(url ? { XP_SLURM_REMOTE: url } : {}) }
    const res = await slurmTool(repo, 'sbatch', args, env)
    if (res.code !== 0) {
      throw new XpError('XP_SLURM_SUBMIT', `Slurm refused the job array: ${slurmMessage(res.stderr)}`, {
        hint: 'fix the sbatch option it names (xp.yaml `slurm:`, --sbatch); the tasks stay queued',
        data: { stderr: res.stderr.trim(), submitted: out.map((t) => t.id) },
      })
    }
    const jobId = res.stdout.trim().split(';')[0]
    if (!/^\d+$/.test(jobId)) throw new XpError('XP_SLURM_FAILED', `sbatch answered "${res.stdout.trim()}", not a job id`)
    const submitted = repo.ctx.now().toISOString()
    group.forEach((t, i) => {
      const fresh = readTask(q, t.id) ?? t
      fresh.slurm = {
        job: `${jobId}_${i}`,
        batch,
        output: output.replace(/%A/g, jobId).replace(/%a/g, String(i)).replace(/%j/g, jobId),
        submitted,
        start_sbatch: o.sbatch ?? [],
        ...(url ? { remote: url } : {}),
      }
      delete fresh.resubmit
      writeTask(q, fresh)
      out.push(fresh)
    })
  }
  return out
}

const TERMINAL = new Set([
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TIMEOUT',
  'NODE_FAIL',
  'OUT_OF_MEMORY',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
  'REVOKED',
  'SPECIAL_EXIT',
])
export const isTerminal = (state: string) => TERMINAL.has(state.split(' ')[0])

/** Parse `squeue -h -r -o %i|%T|%r|%N`: one line per array element, `<array job>_<index>|STATE|REASON|NODES`. Pure. */
export function parseSqueue(text: string): Map<string, ExecutorStatus> {
  const out = new Map<string, ExecutorStatus>()
  for (const line of text.split('\n')) {
    const [id, state, reason, node] = line.trim().split('|')
    if (!id || !state) continue
    out.set(id, { state, reason: reason && reason !== 'None' && reason !== '(null)' ? reason : undefined, node: node || undefined })
  }
  return out
}

/** Slurm's view of tasks, by task id: one `squeue` for every job. Pending array elements are listed one per line (-r). */
async function status(repo: Repo, tasks: Task[]): Promise<Map<string, ExecutorStatus>> {
  const jobs = [...new Set(tasks.filter((t) => t.slurm).map((t) => t.slurm!.job.split('_')[0]))]
  const byTask = new Map<string, ExecutorStatus>()
  if (!jobs.length) return byTask
  const res = await slurmTool(repo, 'squeue', ['-h', '-r', '-t', 'all', `--jobs=${jobs.join(',')}`, '-o', '%i|%T|%r|%N'])
  // a job Slurm forgot (MinJobAge passed) is an error for squeue; with several jobs it lists the rest
  if (res.code !== 0 && !/Invalid job id/i.test(res.stderr))
    throw new XpError('XP_SLURM_FAILED', `squeue failed: ${slurmMessage(res.stderr)}`, { hint: 'is the Slurm controller reachable? (sinfo)' })
  const seen = parseSqueue(res.stdout)
  for (const t of tasks) {
    if (!t.slurm) continue
    const s = seen.get(t.slurm.job)
    if (s) byTask.set(t.id, s)
  }
  // exit codes: squeue has none; scontrol has them, one call per array (not per task), only for arrays that ended badly
  const failedArrays = new Set(tasks.filter((t) => t.slurm && byTask.get(t.id)?.state === 'FAILED').map((t) => t.slurm!.job.split('_')[0]))
  for (const a of failedArrays) {
    const sc = await slurmTool(repo, 'scontrol', ['show', 'job', '-o', a])
    for (const line of sc.stdout.split('\n')) {
      const arr = /ArrayJobId=(\d+) ArrayTaskId=(\d+)\b/.exec(line)
      const code = /\bExitCode=(\d+:\d+)/.exec(line)
      if (!arr || !code) continue
      const t = tasks.find((x) => x.slurm?.job === `${arr[1]}_${arr[2]}`)
      const s = t && byTask.get(t.id)
      if (s) s.exit_code = code[1]
    }
  }
  return byTask
}

/** Why a job ended, in words, from Slurm's state. */
function endedBecause(job: string, s: ExecutorStatus): string {
  const state = s.state.split(' ')[0]
  const why: Record<string, string> = {
    CANCELLED: 'cancelled (scancel)',
    TIMEOUT: 'killed at its time limit',
    NODE_FAIL: `its node${s.node ? ` ${s.node}` : ''} failed`,
    OUT_OF_MEMORY: 'killed: out of memory',
    PREEMPTED: 'preempted',
    BOOT_FAIL: 'its node failed to boot',
    DEADLINE: 'past its deadline',
    FAILED: `the job failed${s.exit_code ? ` (exit ${s.exit_code})` : ''}`,
  }
  return `Slurm job ${job} ${state}: ${why[state] ?? state.toLowerCase()}${s.reason ? ` (${s.reason})` : ''}`
}

/**
 * Bring the tasks handed to Slurm up to date: Slurm's state on each, and, for a job that
 * ended without the task saying so (scancel, time limit, node lost: the job was killed
 * before or while recording), the task failed with Slurm's reason, its worktree and claim
 * removed. With `--via-remote`, the runs of ended jobs are fetched from the git remote.
 * Returns the tasks changed.
 */
export async function reconcileSlurm(repo: Repo, cleanup: (t: Task) => Promise<void>): Promise<{ changed: Task[]; live: Map<string, SlurmInfo> }> {
  const q = queuePaths(repo)
  const tasks = listTasks(q).filter((t) => t.slurm && (t.state === 'queued' || t.state === 'running' || !t.slurm.state || !isTerminal(t.slurm.state)))
  const live = new Map<string, SlurmInfo>()
  if (!tasks.length) return { changed: [], live }
  const seen = await status(repo, tasks)
  const changed: Task[] = []
  const remoteDone: Task[] = []
  for (const t of tasks) {
    const fresh = readTask(q, t.id)
    if (!fresh?.slurm) continue
    const s = seen.get(t.id)
    if (s) Object.assign(fresh.slurm, { state: s.state, reason: s.reason, node: s.node, exit_code: s.exit_code })
    // a job Slurm no longer knows (MinJobAge passed) has ended, once nothing runs it: its runner is gone, or it is long past
    const ended = s ? isTerminal(s.state) : forgotten(repo, q, fresh)
    // While the job may run, its runner owns the task file: what Slurm says is reported, not
    // written (a write here could undo the runner's). Once Slurm says it ended, the runner is gone.
    if (!ended) {
      live.set(fresh.id, fresh.slurm)
      continue
    }
    if (ended && fresh.slurm.remote && (fresh.state === 'queued' || fresh.state === 'running')) remoteDone.push(fresh)
    else if (ended && (fresh.state === 'queued' || fresh.state === 'running')) {
      fresh.state = fs.existsSync(cancelFile(q, fresh.id)) ? 'cancelled' : 'failed'
      fresh.reason = s
        ? endedBecause(fresh.slurm.job, s)
        : `Slurm job ${fresh.slurm.job} ended and Slurm no longer knows it (killed, or its node lost); see ${fresh.slurm.output}`
      fresh.ended = repo.ctx.now().toISOString()
      await cleanup(fresh)
    } else if (ended && s && !['COMPLETED', 'FAILED'].includes(s.state) && fresh.state === 'failed' && !fresh.reason?.startsWith('Slurm job')) {
      // the job recorded its run as interrupted when Slurm signalled it: say why Slurm did
      fresh.reason = endedBecause(fresh.slurm.job, s)
    }
    writeTask(q, fresh)
    changed.push(fresh)
  }
  if (remoteDone.length) changed.push(...(await collectRemote(repo, q, remoteDone, seen)))
  return { changed, live }
}

function forgotten(repo: Repo, q: QueuePaths, t: Task): boolean {
  const claim = readClaim(q, t.id)
  if (claim) return !claimAlive(claim)
  return repo.ctx.now().getTime() - Date.parse(t.slurm!.submitted) > FORGOTTEN_MS
}
const FORGOTTEN_MS = 10 * 60_000

/** Ended jobs of `--via-remote` tasks: fetch the runs from the git remote and match them to their tasks by name. */
async function collectRemote(repo: Repo, q: QueuePaths, tasks: Task[], seen: Map<string, ExecutorStatus>): Promise<Task[]> {
  const { pullRuns } = await import('../../sync/pull.js')
  const { decodeRecord } = await import('../../runs/record.js')
  for (const url of new Set(tasks.map((t) => t.slurm!.remote!))) {
    try {
      await pullRuns(repo, { remote: url, noData: true })
    } catch (e) {
      if (!(e instanceof XpError)) throw e
      repo.ctx.warn(`could not fetch the runs of finished jobs from ${url}: ${e.message}`)
    }
  }
  const { stdout } = await git(['for-each-ref', '--format=%(refname)%00%(objectname)%00%(contents)%00', 'refs/xp/runs/'], { cwd: repo.root, env: repo.ctx.env })
  const byName = new Map<string, { ref: string; commit: string; message: string }>()
  const parts = stdout.split('\0')
  for (let i = 0; i + 2 < parts.length; i += 3) {
    const ref = parts[i].replace(/^\n/, '')
    const m = /^xp: (\S+) /.exec(parts[i + 2])
    if (m) byName.set(m[1], { ref, commit: parts[i + 1], message: parts[i + 2] })
  }
  for (const t of tasks) {
    const found = byName.get(t.name)
    const r = found && decodeRecord(found.message)
    const s = seen.get(t.id)
    if (r && found) {
      t.run = { id: r.id, status: r.status, exit_code: r.exit_code, ref: found.ref, commit: found.commit }
      t.state = r.status === 'succeeded' ? 'done' : 'failed'
      if (r.status !== 'succeeded')
        t.reason = s && s.state !== 'COMPLETED' && s.state !== 'FAILED' ? endedBecause(t.slurm!.job, s) : `the command exited with ${r.exit_code}`
    } else {
      t.state = 'failed'
      t.reason = s
        ? `${endedBecause(t.slurm!.job, s)}; no run came back through ${t.slurm!.remote}`
        : `Slurm job ${t.slurm!.job} ended and no run came back through ${t.slurm!.remote}`
    }
    t.ended = repo.ctx.now().toISOString()
    writeTask(q, t)
  }
  return tasks
}

/**
 * @example
 * const ex = slurmExecutor(repo, { node: process.execPath, xp: '/opt/xp/bin/xp.js', sbatch: ['--time=1:00:00'] })
 * await ex.submit(queued, { jobs: 4 })
 */
export function slurmExecutor(repo: Repo, o: SlurmOptions): Executor {
  return {
    kind: 'slurm',
    submit: (tasks, opts) => submit(repo, o, tasks, opts),
    status: (tasks) => status(repo, tasks),
    async cancel(task: Task) {
      if (!task.slurm) return
      const res = await slurmTool(repo, 'scancel', [task.slurm.job])
      if (res.code !== 0) throw new XpError('XP_SLURM_FAILED', `scancel ${task.slurm.job} failed: ${slurmMessage(res.stderr)}`)
    },
    logs: (task: Task) => task.slurm?.output ?? '',
  }
}
