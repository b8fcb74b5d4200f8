/**
 * Test helpers: real git repositories in temporary folders with an isolated HOME and no
 * system config, and the built CLI run as a user would run it.
 */
import { spawnSync, spawn, type SpawnSyncReturns } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Worker, MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads'
import { inject } from 'vitest'

export const ROOT = path.resolve(import.meta.dirname, '..')
/**
 * The CLI the tests run: the bundle test/global-setup.ts built from the current sources
 * for this test run (never dist/, which `prepare` may rewrite under a running test).
 */
export const XP = testBuild()

function testBuild(): string {
  try {
    const bin = inject('xpBin')
    if (bin) return bin
  } catch {
    // not inside a vitest worker
  }
  return process.env.XP_TEST_BIN ?? path.join(ROOT, 'bin', 'xp.cjs')
}

const tmpRoots: string[] = []

export function tmpDir(prefix = 'xp-test-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  tmpRoots.push(d)
  return d
}

export function cleanupTmp() {
  for (const d of tmpRoots.splice(0)) fs.rmSync(d, { recursive: true, force: true })
}

/** An environment with an isolated HOME and fixed identity, as a user's would be. */
export function testEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const k of ['PATH', 'LANG', 'TMPDIR', 'NODE_OPTIONS']) if (process.env[k]) env[k] = process.env[k]!
  return {
    ...env,
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Test User',
    GIT_AUTHOR_EMAIL: 'test@example.com',
    GIT_COMMITTER_NAME: 'Test User',
    GIT_COMMITTER_EMAIL: 'test@example.com',
    NO_COLOR: '1',
    ...extra,
  }
}

export interface Result {
  code: number
  stdout: string
  stderr: string
}

export class TestRepo {
  readonly dir: string
  readonly home: string
  env: Record<string, string>

  constructor(opts: { init?: boolean; files?: Record<string, string>; commit?: boolean } = {}) {
    const base = tmpDir()
    this.home = path.join(base, 'home')
    this.dir = path.join(base, 'repo')
    fs.mkdirSync(this.home)
    fs.mkdirSync(this.dir)
    this.env = testEnv(this.home)
    if (opts.init !== false) {
      this.git('init', '-q', '-b', 'main')
      for (const [f, c] of Object.entries(opts.files ?? {})) this.write(f, c)
      if (opts.commit !== false && opts.files) {
        this.git('add', '-A')
        this.git('commit', '-q', '-m', 'initial')
      }
    }
  }

  path(...p: string[]) {
    return path.join(this.dir, ...p)
  }

  write(file: string, content: string | Buffer) {
    fs.mkdirSync(path.dirname(this.path(file)), { recursive: true })
    fs.writeFileSync(this.path(file), content)
  }

  read(file: string): string {
    return fs.readFileSync(this.path(file), 'utf8')
  }

  exists(file: string): boolean {
    return fs.existsSync(this.path(file))
  }

  /** Run git; throws on failure. */
  git(...args: string[]): string {
    const r = spawnSync('git', args, { cwd: this.dir, env: this.env, encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`)
    return r.stdout
  }

  /**
   * Run the built xp CLI: in-process (see inProcessXp) unless the call needs a process of
   * its own (stdin) or XP_TEST_SPAWN=1 asks for one everywhere.
   */
  xp(args: string[], opts: { env?: Record<string, string>; input?: string; cwd?: string } = {}): Result {
    if (opts.input === undefined && process.env.XP_TEST_SPAWN !== '1')
      return inProcessXp(args, { cwd: opts.cwd ?? this.dir, env: { ...this.env, ...opts.env } })
    const r: SpawnSyncReturns<string> = spawnSync(process.execPath, [XP, ...args], {
      cwd: opts.cwd ?? this.dir,
      env: { ...this.env, ...opts.env },
      encoding: 'utf8',
      input: opts.input,
      maxBuffer: 256 * 1024 * 1024,
    })
    return { code: r.status ?? (r.signal ? 128 : 1), stdout: r.stdout, stderr: r.stderr }
  }

  /** Run xp and parse its --json output; fails the test with stderr when xp fails. */
  json<T = any>(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): T {
    const r = this.xp([...args, '--json'], opts)
    if (r.code !== 0) throw new Error(`xp ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
    return JSON.parse(r.stdout) as T
  }

  /** Start xp in the background (for interrupt and concurrency tests). */
  spawnXp(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}) {
    return spawn(process.execPath, [XP, ...args], { cwd: opts.cwd ?? this.dir, env: { ...this.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] })
  }
}

let cli: { port: MessagePort; flag: Int32Array; worker: Worker } | undefined

/**
 * Run xp's main() in a worker thread that keeps the built CLI loaded, and wait for it
 * synchronously (Atomics.wait), so `repo.xp()` stays a plain call while skipping Node's
 * start-up and the bundle's load for every command (most of a short command's time).
 * The worker gives each call its own argv, cwd, env, captured output and exit code.
 */
export function inProcessXp(args: string[], opts: { cwd: string; env: Record<string, string> }): Result {
  if (!cli) {
    const flag = new Int32Array(new SharedArrayBuffer(4))
    const { port1, port2 } = new MessageChannel()
    const worker = new Worker(new URL('./cli-worker.mjs', import.meta.url), {
      // the test run's own bundle (test/global-setup.ts), and its bin.cjs as argv[1]
      workerData: { port: port2, flag, dist: path.dirname(XP), bin: XP },
      transferList: [port2],
      stdout: true,
      stderr: true,
    })
    worker.unref()
    port1.unref()
    cli = { port: port1, flag, worker }
  }
  Atomics.store(cli.flag, 0, 0)
  cli.port.postMessage({ args, cwd: opts.cwd, env: opts.env })
  const waited = Atomics.wait(cli.flag, 0, 0, 180_000)
  const msg = receiveMessageOnPort(cli.port)
  if (waited === 'timed-out' || !msg) throw new Error(`xp ${args.join(' ')}: no answer from the in-process CLI in 180 s`)
  return msg.message as Result
}

/** The error code xp printed, from `... [XP_CODE]`. */
export function errorCode(r: Result): string | undefined {
  return /\[(XP_[A-Z0-9_]+)\]/.exec(r.stderr)?.[1]
}
