/**
 * The command line's entry: `launch()` runs xp as a process, with process.argv, and exits.
 * The bundle (dist/xp.cjs, scripts/build.mjs) exports it and `main`; its launcher
 * (src/cli/launch.ts) calls `launch`, the tests' in-process worker calls `main`, and the
 * single executable's script (src/cli/sea.ts) calls `launch` at once.
 */
import fs from 'node:fs'
import { embeddedFile } from '../core/embedded.js'
import { main } from './index.js'

export { main }

export function launch(): void {
  // `xp show --json | head`: a reader that goes away is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0)
    throw e
  })

  // `xp --help` is the one call that needs nothing but text: the build saves what yargs
  // prints (scripts/build.mjs), and this prints it without running yargs.
  const args = process.argv.slice(2)
  if (args.length === 1 && (args[0] === '--help' || args[0] === '-h') && (process.stdout.columns ?? 100) >= 100) {
    try {
      process.stdout.write(embeddedFile('help.txt') ?? fs.readFileSync(new URL('./help.txt', import.meta.url)))
      process.exit(0)
    } catch {
      // no saved help (a build in progress): fall through to yargs
    }
  }

  main().then(
    (code) => {
      // Let stdout drain before exiting: a large --json must not be cut off in a pipe.
      if (process.stdout.writableLength) process.stdout.once('drain', () => process.exit(code))
      else process.exit(code)
    },
    (e) => {
      process.stderr.write(`xp: error: ${e?.stack ?? e}\n`)
      process.exit(1)
    },
  )
}
