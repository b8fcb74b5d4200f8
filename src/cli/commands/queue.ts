import fs from 'node:fs'
import path from 'node:path'
import type { Argv } from 'yargs'
import type { ArgsOf } from '../args.js'
import { cliRepo, cliContext } from '../context.js'
import type { Repo } from '../../core/repo.js'
import type { RunControl } from '../../core/runs/record-run.js'
import { usageError, EXIT } from '../../core/errors.js'
import type { Task } from '../../core/queue/task.js'
import { printJson, info, renderTable, green, red, yellow, dim } from '../output.js'
import { inSingleExecutable } from '../../core/embedded.js'

const colour = (s: string) => (s === 'done' ? green(s) : s === 'failed' ? red(s) : s === 'running' || s === 'cancelled' ? yellow(s) : s)
const shown = (v: unknown) => (typeof v === 'string' && /^[^\s,"']+$/.test(v) ? v : JSON.stringify(v))
const paramsOf = (t: Task) => t.edits.map((e) => `${e.key}=${shown(e.value)}`).join(' ')

const json = { json: { type: 'boolean', describe: 'print the result as JSON' } } as const
const taskId = (c: Argv) => c.positional('id', { type: 'string', demandOption: true, describe: 'a task: id, id prefix or name (see `xp queue status`)' })

const startBuilder = (c: Argv) =>
  c
    .option('jobs', { alias: 'j', type: 'number', default: 1, describe: 'tasks run at once' })
    .option('reuse-worktrees', { type: 'boolean', describe: 'keep a worktree per slot between tasks, reset for each (faster where creating files is slow)' })
    .option('detach', { type: 'boolean', describe: 'keep working in the background (log in .xp/queue/)' })
    .option('slurm', { type: 'boolean', describe: 'submit the queued tasks to Slurm as one job array (-j N: N at once)' })
    .option('sbatch', { type: 'string', array: true, describe: '--slurm: an sbatch option, after xp.yaml `slurm:` (--sbatch --time=1:00:00)' })
    .option('via-remote', { type: 'string', describe: '--slurm: nodes without this file system clone GIT_REMOTE and push their runs back to it' })
    .options(json)
const runTaskBuilder = (c: Argv) => c.positional('id', { type: 'string' }).option('batch', { type: 'string' }).option('via-remote', { type: 'string' })

/**
 * `xp queue …`, built like `xp model …`: one yargs subcommand per action, each with its own
 * options and help, its handler typed from them.
 */
export const builder = (y: Argv) =>
  y
    .command('start', 'run the queued tasks: here (-j N at once), or on Slurm (--slurm)', startBuilder, (a) => start(a))
    .command(
      'status',
      "what is queued, running, done and failed (and Slurm's word on each)",
      (c) => c.options(json),
      (a) => status(a),
    )
    .command('logs <id>', "follow a task's output as it grows", taskId, (a) => logs(a))
    .command(
      'cancel <id>',
      'cancel a queued task, or stop a running one (scancel on Slurm)',
      (c) => taskId(c).options(json),
      (a) => cancelOrRetry('cancel', a),
    )
    .command(
      'retry <id>',
      'queue a failed or cancelled task again (on Slurm: resubmit it)',
      (c) => taskId(c).options(json),
      (a) => cancelOrRetry('retry', a),
    )
    .command(
      'clear',
      'remove finished tasks from the queue (their runs stay)',
      (c) => c.options(json),
      (a) => clear(a),
    )
    // what a Slurm job runs; not for people
    .command('run-task [id]', false, runTaskBuilder, (a) => runTask(a))
    .demandCommand(1, 'name a queue command: start, status, logs, cancel, retry, clear')
    .example('xp run --queue -n lr -S lr=0.1,0.01 -- python train.py', 'queue a sweep of two runs')
    .example('xp queue start -j 2', 'run the queue two tasks at a time')
    .example('xp queue start --slurm -j 8 --sbatch --gres=gpu:1', 'run the queue on Slurm, 8 tasks at once, a GPU each')
    .example('xp queue status', 'what is queued, running, done and failed')

export async function handler() {}

async function start(argv: ArgsOf<typeof startBuilder>) {
  if (argv.jobs < 1 || !Number.isInteger(argv.jobs)) throw usageError('XP_USAGE', '-j takes a whole number of tasks, 1 or more')
  if ((argv.sbatch?.length || argv['via-remote']) && !argv.slurm)
    throw usageError('XP_USAGE', '--sbatch and --via-remote go with --slurm', 'xp queue start --slurm --sbatch ARG')
  const repo = await cliRepo()
  if (argv.slurm) {
    const tasks = await submitSlurm(repo, { sbatch: argv.sbatch, viaRemote: argv['via-remote'], jobs: argv.jobs })
    if (argv.json) return printJson(tasks)
    if (!tasks.length) return info('nothing queued')
    const arrays = [...new Set(tasks.map((t) => t.slurm!.job.split('_')[0]))]
    info(
      `submitted ${tasks.length} task${tasks.length === 1 ? '' : 's'} to Slurm as job array${arrays.length === 1 ? '' : 's'} ${arrays.join(', ')}${argv.jobs > 1 || tasks.length > 1 ? `, ${Math.min(argv.jobs, tasks.length)} at once` : ''}; follow them with \`xp queue status\``,
    )
    return
  }
  const worker = await import('../../core/queue/worker.js')
  if (argv.detach) {
    const { pid, log } = worker.startDetached(repo, {
      execPath: process.execPath,
      args: [
        ...(inSingleExecutable() ? [] : [process.argv[1]!]),
        'queue',
        'start',
        '-j',
        String(argv.jobs),
        ...(argv['reuse-worktrees'] ? ['--reuse-worktrees'] : []),
      ],
    })
    return info(`worker started in the background (pid ${pid}); its log: ${log}; follow tasks with \`xp queue status\``)
  }
  const ctl = new AbortController()
  const onSignal = (sig: NodeJS.Signals) => {
    if (ctl.signal.aborted) return
    info(`${sig}: stopping; running tasks are interrupted and recorded`)
    ctl.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const { localExecutor } = await import('../../core/queue/executors/local.js')
    const tasks = await localExecutor(repo, {
      reuseWorktrees: argv['reuse-worktrees'],
      signal: ctl.signal,
      // from a terminal, Ctrl-C reached the commands already (same process group)
      forwardInterrupt: !process.stdin.isTTY,
      onEvent: ({ type, task: t }) => {
        if (type === 'started') info(`started ${t.name} (${t.id})${t.edits.length ? ` ${dim(paramsOf(t), process.stderr)}` : ''}`)
        else if (type === 'reaped') info(`${red('failed', process.stderr)} ${t.name}: ${t.reason}`)
        else info(`${colour(t.state)} ${t.name}${t.run ? `: run ${t.run.id} ${t.run.status}` : ''}${t.reason && t.state !== 'done' ? ` (${t.reason})` : ''}`)
      },
    }).submit([], { jobs: argv.jobs })
    const failed = tasks.filter((t) => t.state === 'failed').length
    if (argv.json) printJson(tasks)
    info(tasks.length ? `queue empty: ${tasks.length} task${tasks.length === 1 ? '' : 's'} run, ${failed} failed` : 'nothing queued')
    process.exitCode = ctl.signal.aborted ? EXIT.interrupted : failed ? EXIT.domain : 0
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

async function status(argv: { json?: boolean }) {
  const control = await import('../../core/queue/control.js')
  const st = await control.queueStatus(await cliRepo())
  if (argv.json) return printJson(st)
  if (!st.tasks.length) return info('the queue is empty; add tasks with `xp run --queue`')
  const slurm = st.tasks.some((t) => t.slurm)
  const rows = st.tasks.map((t) => [
    t.id,
    t.name,
    colour(t.state),
    ...(slurm ? [t.slurm?.job ?? '', slurmState(t)] : []),
    t.run ? t.run.id : '',
    paramsOf(t),
    t.state === 'failed' || t.state === 'cancelled' ? (t.reason ?? '') : '',
  ])
  process.stdout.write(renderTable(['id', 'name', 'state', ...(slurm ? ['job', 'slurm'] : []), 'run', 'params', 'reason'], rows))
  process.stdout.write(
    `${Object.entries(st.counts)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ')}\n`,
  )
}

async function logs(argv: ArgsOf<typeof taskId>) {
  const control = await import('../../core/queue/control.js')
  const repo = await cliRepo()
  const ctl = new AbortController()
  const stop = () => ctl.abort()
  process.once('SIGINT', stop)
  try {
    const t = await control.followTaskLog(repo, argv.id, { onChunk: (b) => process.stdout.write(b), signal: ctl.signal })
    if (t.state === 'queued') info(`task ${t.name} is queued; it has no output yet`)
  } finally {
    process.off('SIGINT', stop)
  }
}

async function clear(argv: { json?: boolean }) {
  const control = await import('../../core/queue/control.js')
  const gone = await control.clearTasks(await cliRepo())
  if (argv.json) return printJson(gone)
  info(`removed ${gone.length} finished task${gone.length === 1 ? '' : 's'} from the queue (their runs stay)`)
}

async function cancelOrRetry(action: 'cancel' | 'retry', argv: { id: string; json?: boolean }) {
  const control = await import('../../core/queue/control.js')
  const repo = await cliRepo()
  let t = action === 'cancel' ? await control.cancelTask(repo, argv.id) : await control.retryTask(repo, argv.id)
  if (action === 'retry' && t.resubmit) {
    // it ran on Slurm: it goes back to Slurm, as it was submitted
    t = (await submitSlurm(repo, { sbatch: t.resubmit.sbatch, viaRemote: t.resubmit.remote, jobs: 1, only: [t.id] }))[0] ?? t
    if (argv.json) return printJson(t)
    return info(`submitted ${t.name} (${t.id}) to Slurm again as job ${t.slurm?.job}`)
  }
  if (argv.json) return printJson(t)
  if (action === 'retry') return info(`queued ${t.name} (${t.id}) again; start it with \`xp queue start\``)
  info(
    t.state === 'cancelled'
      ? `cancelled ${t.name}${t.run ? `; run ${t.run.id} recorded as ${t.run.status}` : ''}`
      : `asked ${t.name} to stop; it is ${t.state}`,
  )
}

/** Slurm's word on a task: state, and the reason or node. */
function slurmState(t: Task): string {
  const s = t.slurm
  if (!s?.state) return s ? 'submitted' : ''
  const extra =
    s.state === 'RUNNING' ? s.node && `on ${s.node}` : s.state === 'PENDING' ? s.reason : s.exit_code && s.exit_code !== '0:0' ? `exit ${s.exit_code}` : ''
  return extra ? `${s.state} ${extra}` : s.state
}

async function submitSlurm(repo: Repo, o: { sbatch?: string[]; viaRemote?: string; jobs: number; only?: string[] }): Promise<Task[]> {
  const { slurmExecutor } = await import('../../core/queue/executors/slurm.js')
  const { listTasks, queuePaths } = await import('../../core/queue/task.js')
  const { settle } = await import('../../core/queue/control.js')
  await settle(repo)
  const queued = listTasks(queuePaths(repo)).filter((t) => t.state === 'queued' && !t.slurm && (!o.only || o.only.includes(t.id)))
  const ex = slurmExecutor(repo, {
    node: process.execPath,
    xp: inSingleExecutable() ? '' : path.resolve(process.argv[1]),
    sbatch: o.sbatch,
    viaRemote: o.viaRemote,
  })
  return ex.submit(queued, { jobs: o.jobs })
}

/** `xp queue run-task`: one task inside a Slurm job. Its output goes to the job's output file; its exit code is the command's. */
async function runTask(argv: ArgsOf<typeof runTaskBuilder>) {
  const { runTaskShared, runTaskViaRemote } = await import('../../core/queue/run-task.js')
  const env = process.env
  const index = env.SLURM_ARRAY_TASK_ID !== undefined ? Number(env.SLURM_ARRAY_TASK_ID) : undefined
  const live: { control?: RunControl; cancelAt?: number } = {}
  // Slurm stops a job with SIGTERM (scancel, time limit), then SIGKILL after KillWait: record the run as interrupted meanwhile
  const onSignal = () => live.control?.interrupt(true)
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  const onOutput = (b: Buffer) => process.stdout.write(b)
  try {
    let res: Awaited<ReturnType<typeof runTaskShared>>
    if (argv['via-remote']) {
      const tasksBase64 =
        argv.batch === '-' || !argv.batch ? fs.readFileSync(0, 'utf8').replace(/\s+/g, '') : fs.readFileSync(argv.batch, 'utf8').replace(/\s+/g, '')
      res = await runTaskViaRemote(cliContext(), { viaRemote: argv['via-remote'], tasksBase64, index, live, onOutput })
    } else {
      const repo = await cliRepo()
      res = await runTaskShared(repo, { id: argv.id, batch: argv.batch, index, live, onOutput })
    }
    if (res.skipped) return info(`nothing to run: ${res.skipped}`)
    const t = res.task!
    info(`task ${t.name} ${t.state}${t.run ? `: run ${t.run.id} ${t.run.status}` : ''}${t.reason ? ` (${t.reason})` : ''}`)
    process.exitCode = t.state === 'done' ? 0 : t.run?.exit_code || 1
  } finally {
    process.off('SIGTERM', onSignal)
    process.off('SIGINT', onSignal)
  }
}
