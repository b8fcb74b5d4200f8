import { main } from './index.js'

// `xp show --json | head`: a reader that goes away is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0)
  throw e
})

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
