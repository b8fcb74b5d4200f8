import fs from 'node:fs'

// `xp --help` is the one call that needs nothing but text: the build saves what yargs
// prints (scripts/build.mjs), and this prints it without loading yargs (~0.1 s saved).
const args = process.argv.slice(2)
if (args.length === 1 && (args[0] === '--help' || args[0] === '-h') && (process.stdout.columns ?? 100) >= 100) {
  try {
    process.stdout.write(fs.readFileSync(new URL('./help.txt', import.meta.url)))
    process.exit(0)
  } catch {
    // no saved help (a build in progress): fall through to yargs
  }
}

const { main } = await import('./index.js')
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
