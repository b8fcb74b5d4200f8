/**
 * The xp command line. Command modules load only when their command runs (node and yargs
 * start-up are most of a short command's time), and this is the one place that maps
 * errors to exit codes: main() returns the code, and src/cli/bin.ts, the only caller of
 * process.exit, exits with it (tests call main() in-process).
 */
import type { Argv } from 'yargs'
import { XpError, diskError } from '../core/errors.js'
import { clean, printError } from './output.js'

export interface CommandModule {
  builder: (y: Argv) => Argv<any>
  handler: (argv: any) => Promise<void> | void
}

interface Entry {
  command: string
  aliases?: string[]
  describe: string
  load: () => Promise<CommandModule>
}

const COMMANDS: Entry[] = [
  { command: 'init', describe: 'set up xp in this git repository', load: () => import('./commands/init.js') },
  { command: 'run [command..]', describe: 'run a command and record it as a run', load: () => import('./commands/run.js') },
  { command: 'show [runs..]', aliases: ['ls'], describe: 'list runs with their metrics and params', load: () => import('./commands/show.js') },
  { command: 'diff [a] [b]', describe: 'compare the params and metrics of two runs', load: () => import('./commands/diff.js') },
  { command: 'apply <run>', describe: "write a run's files into the working tree", load: () => import('./commands/apply.js') },
  { command: 'branch <run> <branch>', describe: 'create a git branch at a run', load: () => import('./commands/branch.js') },
  { command: 'rm <runs..>', describe: 'delete runs', load: () => import('./commands/rm.js') },
  { command: 'note <run> <text>', describe: 'add a note to a run (git notes, refs/notes/xp)', load: () => import('./commands/note.js') },
  { command: 'add <paths..>', describe: 'track files or folders in the data cache (writes PATH.xp)', load: () => import('./commands/add.js') },
  { command: 'status [paths..]', describe: 'show data that changed since its pointer was written', load: () => import('./commands/status.js') },
  { command: 'checkout [paths..]', describe: 'write tracked data from the cache into the working tree', load: () => import('./commands/checkout.js') },
  { command: 'gc', describe: 'delete cache objects that no run, ref or pointer uses', load: () => import('./commands/gc.js') },
  { command: 'fsck', describe: 'rehash every cache object and name the corrupt ones', load: () => import('./commands/fsck.js') },
  { command: 'remote <action>', describe: 'add, list or remove data remotes (xp.yaml)', load: () => import('./commands/remote.js') },
  { command: 'push [args..]', describe: 'push runs, notes and registry tags to a git remote, their data first', load: () => import('./commands/push.js') },
  { command: 'pull [args..]', describe: 'pull runs, notes and registry tags, then the data of the working tree', load: () => import('./commands/pull.js') },
  {
    command: 'model <action>',
    describe: 'the model registry (GTO tags): register, assign (or promote), unassign, deprecate, ls, history, which, get',
    load: () => import('./commands/model.js'),
  },
  {
    command: 'queue <action>',
    describe: 'run queued runs in temporary worktrees: start, status, logs, cancel, retry, clear',
    load: () => import('./commands/queue.js'),
  },
  {
    command: 'import <source>',
    describe: 'turn DVC experiments or an MLflow file store into runs: xp import dvc [--all] [REV...] | xp import mlflow MLRUNS',
    load: () => import('./commands/import.js'),
  },
  { command: 'plots [runs..]', describe: 'write the series, metrics and params of runs into one HTML file', load: () => import('./commands/plots.js') },
  { command: 'ui', describe: 'browse, compare and annotate runs in a local web page', load: () => import('./commands/ui.js') },
]

/** `xp run` takes everything after its own options as the command, `--` or not. */
export function splitRunArgv(args: string[]): string[] {
  const i = args.indexOf('run')
  if (i < 0 || args.slice(0, i).some((a) => !a.startsWith('-'))) return args
  const withValue = new Set(['-n', '--name', '-S', '--set', '-m', '--message', '-j', '--recover'])
  for (let j = i + 1; j < args.length; j++) {
    const a = args[j]!
    if (a === '--') return args
    if (a.startsWith('-')) {
      if (withValue.has(a)) j++
      continue
    }
    return [...args.slice(0, j), '--', ...args.slice(j)]
  }
  return args
}

/** `--sbatch --time=1:00:00` passes an option to sbatch: its value is the next word, whatever it starts with. */
export function joinSbatchArgs(args: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string
    if (a === '--') return [...out, ...args.slice(i)]
    if (a === '--sbatch' && i + 1 < args.length) out.push(`--sbatch=${args[++i]}`)
    else out.push(a)
  }
  return out
}

async function baseYargs(args: string[], scriptName: string): Promise<Argv> {
  // loaded here, not at the top: the plain calls of fastArgv never need it
  const { default: yargs } = await import('yargs')
  return (
    yargs(args)
      .scriptName(scriptName)
      .parserConfiguration({ 'populate--': true, 'camel-case-expansion': false })
      .option('debug', { type: 'boolean', describe: 'show stack traces', hidden: true })
      .option('saved-help', { type: 'boolean', hidden: true })
      .strict()
      .help()
      // main() returns the exit code instead of exiting (bin.ts exits; tests and the binary call main in-process)
      .exitProcess(false)
      .alias('h', 'help')
      .version(false)
      .wrap(Math.min(100, process.stdout.columns || 100))
      .fail((msg, err) => {
        throw err ?? new XpError('XP_USAGE', msg ?? 'bad usage', { hint: 'see `xp --help`' })
      })
  )
}

/**
 * A known command is parsed as the default command of its own yargs instance: yargs then
 * skips rendering the whole help text before every handler (50-90 ms of CPU a call), and
 * only that command's module is loaded. Anything else goes to the full command list.
 */
async function buildCli(args: string[]): Promise<Argv> {
  const at = args.findIndex((a) => !a.startsWith('-'))
  const first = at < 0 ? undefined : args[at]
  const entry = first === undefined ? undefined : COMMANDS.find((e) => e.command.split(' ')[0] === first || e.aliases?.includes(first))
  if (entry) {
    const [name, ...rest] = entry.command.split(' ')
    const mod = await entry.load()
    return (await baseYargs([...args.slice(0, at), ...args.slice(at + 1)], `xp ${name}`)).usage(`Usage: xp ${entry.command}\n\n${entry.describe}`).command(
      ['$0 ' + rest.join(' ')].map((c) => c.trim()),
      entry.describe,
      mod.builder,
      async (a) => {
        await mod.handler(a)
      },
    )
  }
  const cli = (await baseYargs(args, 'xp'))
    .usage('xp: experiments as git commits\n\nUsage: xp <command> [options]')
    .demandCommand(1, 'name a command; `xp --help` lists them')
    .recommendCommands()
    .option('version', { alias: 'V', type: 'boolean', describe: 'print the versions of xp, git and node' })
  for (const e of COMMANDS) cli.command([e.command, ...(e.aliases ?? [])], e.describe, {}, () => {})
  return cli
}

/**
 * The everyday calls whose parse is obvious, as yargs would give them to the handler:
 * `run -- CMD...`, `status [PATH...] [--json]`, `add PATH... [--json]`, `push [REMOTE]
 * [RUN...]`, `pull [REMOTE] [RUN...]`, `checkout [PATH...] [--json]`, `model ls [--json]`. Loading and running yargs costs about 60 ms of CPU, a third of a no-op
 * `xp status` (issue 16). Anything else (any other option, `--help`) goes to yargs.
 */
export function fastArgv(args: string[]): { command: string; argv: Record<string, unknown>; handler?: string } | null {
  const [command, ...rest] = args
  if (command === 'model' && rest[0] === 'ls' && (rest.length === 1 || (rest.length === 2 && rest[1] === '--json')))
    return { command, handler: 'lsHandler', argv: { _: ['ls'], ...(rest[1] ? { json: true } : {}) } }
  const plain = (xs: string[]) => xs.every((a) => !a.startsWith('-'))
  if (command === 'run' && rest[0] === '--' && rest.length > 1) return { command, argv: { _: [], command: [], '--': rest.slice(1) } }
  const json = rest.filter((a) => a === '--json').length
  const paths = rest.filter((a) => a !== '--json')
  if ((command === 'status' || command === 'add') && json <= 1 && plain(paths) && (paths.length || command === 'status'))
    return { command, argv: { _: [], paths: paths.length ? paths : undefined, ...(json ? { json: true } : {}) } }
  if (command === 'push' && plain(rest)) return { command, argv: { _: [], args: rest.length ? rest : undefined, data: true } }
  // a fresh clone's `xp pull` and `xp checkout` (issue 16, the clone row: yargs was 90 ms of each)
  if (command === 'pull' && plain(rest)) return { command, argv: { _: [], args: rest.length ? rest : undefined, data: true } }
  if (command === 'checkout' && json <= 1 && plain(paths))
    return { command, argv: { _: [], paths: paths.length ? paths : undefined, ...(json ? { json: true } : {}) } }
  return null
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  const args = splitRunArgv(joinSbatchArgs(argv))
  const debug = args.includes('--debug')
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    const { versionText } = await import('./version.js')
    process.stdout.write(await versionText(process.env))
    return 0
  }
  let exitCode = 0
  try {
    const fast = fastArgv(args)
    const entry = fast && COMMANDS.find((e) => e.command.split(' ')[0] === fast.command)
    if (fast && entry) {
      const mod = (await entry.load()) as CommandModule & Record<string, CommandModule['handler'] | undefined>
      const run = mod[fast.handler ?? 'handler']
      if (!run) throw new XpError('XP_INTERNAL', `the ${fast.command} command has no ${fast.handler} handler`)
      await run(fast.argv)
    } else await (await buildCli(args)).parseAsync()
    exitCode = process.exitCode === undefined ? 0 : Number(process.exitCode)
  } catch (caught) {
    // a full or read-only disk anywhere is a coded error naming the path, never a stack
    const e = diskError(caught)
    if (e instanceof XpError) {
      printError(e, debug)
      exitCode = e.exitCode
    } else {
      const err = e as Error
      printError(
        new XpError('XP_INTERNAL', `internal error: ${err?.message ?? String(e)}`, { hint: 'run again with --debug for the stack, and report it' }),
        false,
      )
      if (debug && err?.stack) process.stderr.write(clean(err.stack) + '\n')
      exitCode = 1
    }
  }
  return exitCode
}
