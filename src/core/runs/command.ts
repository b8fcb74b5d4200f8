/**
 * How a run's command is spawned: an argument vector runs as is (no shell); a single
 * string (from `xp.yaml` or one quoted argument with spaces) is the user's own shell
 * command and goes to `/bin/sh -c` verbatim, as DVC and make do. xp never glues strings
 * into a shell line.
 */
export interface CommandSpec {
  file: string
  args: string[]
  /** how it is shown and recorded */
  display: string
}

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/

export function shellQuote(arg: string): string {
  if (arg !== '' && SAFE.test(arg)) return arg
  return `'${arg.replace(/'/g, `'\\''`)}'`
}

export function commandSpec(argv: string[] | undefined, configured: string | undefined): CommandSpec | null {
  if (argv && argv.length > 1) return { file: argv[0], args: argv.slice(1), display: argv.map(shellQuote).join(' ') }
  const line = argv && argv.length === 1 ? argv[0] : configured
  if (!line?.trim()) return null
  if (argv && argv.length === 1 && !/\s/.test(line)) return { file: line, args: [], display: shellQuote(line) }
  return { file: '/bin/sh', args: ['-c', line], display: line }
}
