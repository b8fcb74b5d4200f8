import type { Argv } from 'yargs'
import { cliRepo } from '../context.js'
import { usageError } from '../../core/errors.js'
import { recordRun, recoverRun, type RunControl } from '../../core/runs/record-run.js'
import { printJson, info, green, red, yellow } from '../output.js'

export const builder = (y: Argv) =>
  y
    .positional('command', { type: 'string', array: true, describe: 'the command to run (after --)' })
    .option('name', { alias: 'n', type: 'string', describe: 'a name for the run (letters, digits, . _ -)' })
    .option('set', { alias: 'S', type: 'string', array: true, describe: 'set a param: [FILE:]KEY=VALUE (edits the params file)' })
    .option('message', { alias: 'm', type: 'string', describe: 'a message recorded with the run' })
    .option('queue', { type: 'boolean', describe: 'queue the run (a grid of -S values queues one per combination)' })
    .option('sbatch', { type: 'string', array: true, describe: 'with --queue: an sbatch option for this task on Slurm (--sbatch --gres=gpu:2)' })
    .option('json', { type: 'boolean', describe: "print the run record as JSON (the command's output goes to stderr)" })
    .option('recover', { type: 'string', describe: 'record a lost run (its xp process died: `xp show` says lost) as failed, with what it left' })
    .example('xp run -- python train.py', 'run and record')
    .example('xp run -n deep -S model.depth=8 -- python train.py', 'name the run and change a param')

export async function handler(argv: {
  command?: string[]
  '--'?: string[]
  name?: string
  set?: string[]
  message?: string
  queue?: boolean
  sbatch?: string[]
  json?: boolean
  recover?: string
}) {
  const repo = await cliRepo()
  if (argv.recover !== undefined) {
    const res = await recoverRun(repo, String(argv.recover))
    if (argv.json) return printJson({ ...res.record, commit: res.commit, ref: res.ref })
    return info(`${red('failed', process.stderr)}: lost run ${res.record.name} (${res.record.id}) recorded as ${res.ref}`)
  }
  const command = [...(argv.command ?? []), ...(argv['--'] ?? [])].map(String)
  if (argv.queue) {
    const { queueRuns } = await import('../../core/queue/enqueue.js')
    const tasks = await queueRuns(repo, { name: argv.name, set: argv.set ?? [], message: argv.message, command, sbatch: argv.sbatch })
    if (argv.json) return printJson(tasks)
    const shown = tasks.length > 10 ? [...tasks.slice(0, 8).map((t) => t.name), '...', tasks[tasks.length - 1].name] : tasks.map((t) => t.name)
    info(`queued ${tasks.length} task${tasks.length === 1 ? '' : 's'}: ${shown.join(', ')}; start them with \`xp queue start\``)
    return
  }
  if (argv.sbatch?.length) throw usageError('XP_USAGE', '--sbatch applies to queued runs', 'add --queue, then `xp queue start --slurm`')
  // Signals are taken from the first moment: before the command starts, one aborts the
  // preparation (the command never starts); while it runs, INT, TERM and HUP all mark the
  // run interrupted, reach the command, and xp stays to record it.
  const abort = new AbortController()
  repo.ctx.signal = abort.signal
  let control: RunControl | undefined
  let sigints = 0
  let hungUp = false
  const onSigint = () => {
    sigints++
    if (!control) return abort.abort()
    // From a terminal the command got Ctrl-C itself (same process group); forward only when it could not have.
    if (sigints === 1) control.interrupt(!process.stdin.isTTY)
    else if (sigints === 2) control.interrupt(true)
    else control.kill('SIGKILL')
  }
  const onOther = (signal: NodeJS.Signals) => {
    if (signal === 'SIGHUP') hungUp = true // the terminal is gone: stop writing to it
    if (!control) return abort.abort()
    control.interrupt(false)
    control.kill(signal)
  }
  process.on('SIGINT', onSigint)
  process.on('SIGTERM', onOther)
  process.on('SIGHUP', onOther)
  // a closed terminal makes writes fail (EIO, EPIPE): the run is still recorded
  const ignore = () => {}
  process.stdout.removeAllListeners('error') // not bin's "exit on EPIPE": the run must be recorded
  process.stdout.on('error', ignore)
  process.stderr.on('error', ignore)
  const out = argv.json ? process.stderr : process.stdout
  try {
    const res = await recordRun(repo, {
      name: argv.name,
      set: argv.set,
      message: argv.message,
      command,
      onOutput: (chunk, stream) => {
        if (!hungUp) (stream === 'stdout' ? out : process.stderr).write(chunk)
      },
      attach: (c) => (control = c),
    })
    const r = res.record
    if (argv.json) printJson({ ...r, commit: res.commit, ref: res.ref })
    else {
      const colour = r.status === 'succeeded' ? green : r.status === 'failed' ? red : yellow
      info(`${colour(r.status, process.stderr)}: run ${r.name} (${r.id}) in ${r.duration_s}s, recorded as ${res.ref}`)
    }
    process.exitCode = res.exitCode
  } finally {
    process.off('SIGINT', onSigint)
    process.off('SIGTERM', onOther)
    process.off('SIGHUP', onOther)
  }
}
