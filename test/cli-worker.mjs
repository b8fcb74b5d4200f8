// The built CLI's main(), kept loaded in a worker thread so that tests run `xp ...` without
// starting a Node process each time (test/helpers.ts calls it synchronously through
// Atomics.wait). Calls arrive one at a time; each gets its own argv, cwd, env, captured
// stdout/stderr and exit code, as a spawned process would. What needs a real process
// (signals, stdin, concurrency, detached workers) is still spawned by the tests.
import { workerData } from 'node:worker_threads'
import { createRequire } from 'node:module'
import path from 'node:path'

const { port, flag, dist } = workerData
// the bundle's own exports (dist/xp.cjs); bin.cjs, the launcher, adds only the code cache
const { main } = createRequire(import.meta.url)(path.join(dist, 'xp.cjs'))
const bin = workerData.bin ?? path.join(dist, '..', 'bin', 'xp.cjs')

class Exit extends Error {
  constructor(code) {
    super(`exit ${code}`)
    this.exitCode = code
  }
}

const real = {
  stdoutWrite: process.stdout.write,
  stderrWrite: process.stderr.write,
  exit: process.exit,
  cwd: process.cwd,
  env: process.env,
  argv: process.argv,
  log: console.log,
  error: console.error,
  warn: console.warn,
  info: console.info,
}

/** @param {Buffer[]} chunks */
function capture(chunks) {
  /** @param {string | Uint8Array} chunk @param {BufferEncoding | (() => void)} [encoding] @param {() => void} [cb] */
  return (chunk, encoding, cb) => {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8') : Buffer.from(chunk))
    const done = typeof encoding === 'function' ? encoding : cb
    if (done) queueMicrotask(done)
    return true
  }
}

async function run({ args, cwd, env }) {
  const out = []
  const err = []
  process.stdout.write = capture(out)
  process.stderr.write = capture(err)
  const line =
    (chunks) =>
    (...a) =>
      chunks.push(Buffer.from(a.map(String).join(' ') + '\n'))
  console.log = console.info = line(out)
  console.error = console.warn = line(err)
  process.exit = (code) => {
    throw new Exit(code ?? 0)
  }
  process.cwd = () => cwd
  process.env = { ...env }
  process.argv = [process.execPath, bin, ...args]
  process.exitCode = undefined
  let code
  try {
    code = await main(args)
  } catch (e) {
    if (e instanceof Exit) code = e.exitCode
    else {
      err.push(Buffer.from(`xp (in-process): ${e?.stack ?? e}\n`))
      code = 1
    }
  } finally {
    process.stdout.write = real.stdoutWrite
    process.stderr.write = real.stderrWrite
    process.exit = real.exit
    process.cwd = real.cwd
    process.env = real.env
    process.argv = real.argv
    Object.assign(console, { log: real.log, error: real.error, warn: real.warn, info: real.info })
    process.exitCode = undefined
  }
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }
}

port.on('message', async (call) => {
  let result
  try {
    result = await run(call)
  } catch (e) {
    result = { code: 1, stdout: '', stderr: `xp (in-process worker): ${e?.stack ?? e}\n` }
  }
  port.postMessage(result)
  Atomics.store(flag, 0, 1)
  Atomics.notify(flag, 0)
})
