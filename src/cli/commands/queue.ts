import type { Argv } from 'yargs'
import { cliRepo } from '../context.js'
import { usageError, EXIT } from '../../core/errors.js'
import type { Task } from '../../core/queue/task.js'
import { printJson, info, renderTable, green, red, yellow, dim } from '../output.js'
import { inSingleExecutable } from '../../core/embedded.js'

const ACTIONS = ['start', 'status', 'logs', 'cancel', 'retry', 'clear'] as const

export const builder = (y: Argv) =>
  y
    .positional('action', { choices: ACTIONS, describe: 'what to do' })
    .positional('id', { type: 'string', describe: 'a task: id, id prefix or name (logs, cancel, retry)' })
    .option('jobs', { alias: 'j', type: 'number', default: 1, describe: 'start: tasks run at once' })
    .option('reuse-worktrees', { type: 'boolean', describe: 'start: keep a worktree per slot between tasks, reset for each (faster where creating files is slow)' })
    .option('detach', { type: 'boolean', describe: 'start: keep working in the background (log in .xp/queue/)' })
    .option('json', { type: 'boolean', describe: 'print JSON (start: the tasks it ran)' })
    .example('xp run --queue -n lr -S lr=0.1,0.01 -- python train.py', 'queue a sweep of two runs')
    .example('xp queue start -j 2', 'run the queue two tasks at a time')
    .example('xp queue status', 'what is queued, running, done and failed')

interface Args {
  action: (typeof ACTIONS)[number]
  id?: string
  jobs: number
  detach?: boolean
  'reuse-worktrees'?: boolean
  json?: boolean
}

const colour = (s: string) => (s === 'done' ? green(s) : s === 'failed' ? red(s) : s === 'running' || s === 'cancelled' ? yellow(s) : s)
const shown = (v: unknown) => (typeof v === 'string' && /^[^\s,"']+$/.test(v) ? v : JSON.stringify(v))
const paramsOf = (t: Task) => t.edits.map((e) => `${e.key}=${shown(e.value)}`).join(' ')

export async function handler(argv: Args) {
  const needsId = argv.action === 'logs' || argv.action === 'cancel' || argv.action === 'retry'
  if (needsId && !argv.id) throw usageError('XP_USAGE', `xp queue ${argv.action} needs a task id or name`, 'see `xp queue status`')
  if (argv.jobs < 1 || !Number.isInteger(argv.jobs)) throw usageError('XP_USAGE', '-j takes a whole number of tasks, 1 or more')
  const repo = await cliRepo()
  if (argv.action === 'start') {
    const worker = await import('../../core/queue/worker.js')
    if (argv.detach) {
      const { pid, log } = worker.startDetached(repo, { execPath: process.execPath, args: [...(inSingleExecutable() ? [] : [process.argv[1]]), 'queue', 'start', '-j', String(argv.jobs), ...(argv['reuse-worktrees'] ? ['--reuse-worktrees'] : [])] })
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
      const { tasks } = await worker.runQueue(repo, {
        jobs: argv.jobs,
        reuseWorktrees: argv['reuse-worktrees'],
        signal: ctl.signal,
        // from a terminal, Ctrl-C reached the commands already (same process group)
        forwardInterrupt: !process.stdin.isTTY,
        onEvent: ({ type, task: t }) => {
          if (type === 'started') info(`started ${t.name} (${t.id})${t.edits.length ? ` ${dim(paramsOf(t), process.stderr)}` : ''}`)
          else if (type === 'reaped') info(`${red('failed', process.stderr)} ${t.name}: ${t.reason}`)
          else info(`${colour(t.state)} ${t.name}${t.run ? `: run ${t.run.id} ${t.run.status}` : ''}${t.reason && t.state !== 'done' ? ` (${t.reason})` : ''}`)
        },
      })
      const failed = tasks.filter((t) => t.state === 'failed').length
      if (argv.json) printJson(tasks)
      info(tasks.length ? `queue empty: ${tasks.length} task${tasks.length === 1 ? '' : 's'} run, ${failed} failed` : 'nothing queued')
      process.exitCode = ctl.signal.aborted ? EXIT.interrupted : failed ? EXIT.domain : 0
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
    return
  }
  const control = await import('../../core/queue/control.js')
  if (argv.action === 'status') {
    const st = await control.queueStatus(repo)
    if (argv.json) return printJson(st)
    if (!st.tasks.length) return info('the queue is empty; add tasks with `xp run --queue`')
    const rows = st.tasks.map((t) => [t.id, t.name, colour(t.state), t.run ? t.run.id : '', paramsOf(t), t.state === 'failed' || t.state === 'cancelled' ? (t.reason ?? '') : ''])
    process.stdout.write(renderTable(['id', 'name', 'state', 'run', 'params', 'reason'], rows))
    process.stdout.write(`${Object.entries(st.counts).map(([k, v]) => `${v} ${k}`).join(', ')}\n`)
    return
  }
  if (argv.action === 'logs') {
    const ctl = new AbortController()
    const stop = () => ctl.abort()
    process.once('SIGINT', stop)
    try {
      const t = await control.followTaskLog(repo, argv.id!, { onChunk: (b) => process.stdout.write(b), signal: ctl.signal })
      if (t.state === 'queued') info(`task ${t.name} is queued; it has no output yet`)
    } finally {
      process.off('SIGINT', stop)
    }
    return
  }
  if (argv.action === 'clear') {
    const gone = await control.clearTasks(repo)
    if (argv.json) return printJson(gone)
    return info(`removed ${gone.length} finished task${gone.length === 1 ? '' : 's'} from the queue (their runs stay)`)
  }
  const t = argv.action === 'cancel' ? await control.cancelTask(repo, argv.id!) : await control.retryTask(repo, argv.id!)
  if (argv.json) return printJson(t)
  if (argv.action === 'retry') return info(`queued ${t.name} (${t.id}) again; start it with \`xp queue start\``)
  info(t.state === 'cancelled' ? `cancelled ${t.name}${t.run ? `; run ${t.run.id} recorded as ${t.run.status}` : ''}` : `asked ${t.name} to stop; it is ${t.state}`)
}
