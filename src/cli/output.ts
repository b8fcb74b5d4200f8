/** Rendering shared by commands: JSON with sorted keys, tables, colour only on a TTY. */
import type { XpError } from '../core/errors.js'
import { sortKeys, stringifyJson } from '../core/json.js'
import { Scrubber } from '../core/safety/secrets.js'

export { sortKeys }

let scrubber: Scrubber | undefined
let scrubberEnv: NodeJS.ProcessEnv | undefined
/**
 * Everything xp prints passes the secret scrubber (core/safety/secrets.ts): URL passwords,
 * token shapes and the environment's secret values become `***` (`xp push
 * https://bob:pw@host/r.git` fails naming https://bob:***@host/r.git).
 */
export function clean(s: string): string {
  // built once per environment (tests run many commands in one process, each with its own)
  if (!scrubber || scrubberEnv !== process.env) {
    scrubber = Scrubber.forEnv(process.env)
    scrubberEnv = process.env
  }
  return scrubber.text(s)
}

/**
 * The one JSON document a `--json` command writes to stdout. What it prints was scrubbed
 * when stored (records, logs); a command printing a URL from config cleans it itself.
 */
export function printJson(v: unknown): void {
  process.stdout.write(stringifyJson(sortKeys(v), 2) + '\n')
}

export const useColor = (stream: NodeJS.WriteStream = process.stdout) => Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb'

const wrap = (open: number, close: number) => (s: string, stream?: NodeJS.WriteStream) => (useColor(stream) ? `\x1b[${open}m${s}\x1b[${close}m` : s)
export const bold = wrap(1, 22)
export const dim = wrap(2, 22)
export const red = wrap(31, 39)
export const green = wrap(32, 39)
export const yellow = wrap(33, 39)
export const cyan = wrap(36, 39)

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes start with ESC
const ANSI = /\x1b\[[0-9;]*m/g
export const visibleLength = (s: string) => s.replace(ANSI, '').length

/** A plain-text table: columns padded, numbers right-aligned. */
export function renderTable(header: string[], rows: string[][], opts: { rightAlign?: boolean[] } = {}): string {
  const widths = header.map((h, i) => Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ''))))
  const pad = (s: string, i: number) => {
    const fill = ' '.repeat(Math.max(0, (widths[i] ?? 0) - visibleLength(s)))
    return opts.rightAlign?.[i] ? fill + s : s + fill
  }
  const lines = [
    header
      .map((h, i) => pad(bold(h), i))
      .join('  ')
      .trimEnd(),
    ...rows.map((r) =>
      r
        .map((c, i) => pad(c ?? '', i))
        .join('  ')
        .trimEnd(),
    ),
  ]
  return lines.join('\n') + '\n'
}

export function warn(message: string): void {
  process.stderr.write(`${yellow('xp: warning:', process.stderr)} ${clean(message)}\n`)
}

export function info(message: string): void {
  process.stderr.write(`xp: ${clean(message)}\n`)
}

/** One-line error on stderr: message, code, hint. */
export function printError(e: XpError, debug: boolean): void {
  process.stderr.write(`${red('xp: error:', process.stderr)} ${clean(e.message)} [${e.code}]\n`)
  if (e.hint) process.stderr.write(`  hint: ${clean(e.hint)}\n`)
  if (debug && e.stack) process.stderr.write(clean(e.stack) + '\n')
}
