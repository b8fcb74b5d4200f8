/**
 * The one gateway to git. Bulk reads, writes of refs and everything that talks to a
 * remote go through the git binary (docs/architecture.md#decisions-and-their-measurements: `for-each-ref` + `cat-file --batch` read
 * 10,000 records in 0.14 s where isomorphic-git took 12-80 s). Arguments are always an
 * array handed to spawn: no shell ever sees a user's string.
 */
import { spawn } from 'node:child_process'
import { XpError, EXIT, type ErrorCode } from './errors.js'

export interface GitOptions {
  cwd: string
  env: Record<string, string | undefined>
  /** bytes written to git's stdin */
  input?: string | Buffer
  /** return the result instead of throwing when git exits non-zero */
  allowFail?: boolean
  signal?: AbortSignal
  /** error code to throw with on failure (default XP_GIT_FAILED) */
  errorCode?: ErrorCode
  exitCode?: number
  /** variables set for this call only, after the caller's env is cleaned (e.g. GIT_INDEX_FILE) */
  extraEnv?: Record<string, string | undefined>
}

export interface GitResult {
  code: number
  stdout: string
  stderr: string
}

/** Environment for git: the caller's, minus variables that would redirect it, plus overrides. */
export function gitEnv(env: Record<string, string | undefined>, extra: Record<string, string | undefined> = {}) {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v
  // A user's GIT_INDEX_FILE or GIT_DIR from an outer hook must not leak into our snapshots.
  delete out.GIT_INDEX_FILE
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete out[k]
    else out[k] = v
  }
  return out
}

/**
 * Run git and collect its output.
 *
 * @example
 * const { stdout } = await git(['rev-parse', 'HEAD'], { cwd, env })
 */
export function git(args: string[], opts: GitOptions): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd: opts.cwd,
      env: gitEnv(opts.env, opts.extraEnv),
      stdio: ['pipe', 'pipe', 'pipe'],
      signal: opts.signal,
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.on('data', (d: Buffer) => err.push(d))
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') reject(new XpError('XP_GIT_MISSING', 'git is not installed or not on PATH', { hint: 'install git (apt-get install git)' }))
      else reject(e)
    })
    child.stdin.on('error', () => {}) // git may exit before reading all input
    child.on('close', (code) => {
      const result = { code: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }
      if (result.code !== 0 && !opts.allowFail) {
        const first = result.stderr.trim().split('\n').filter(Boolean).pop() ?? `exit ${result.code}`
        reject(
          new XpError(opts.errorCode ?? 'XP_GIT_FAILED', `git ${args[0]} failed: ${first}`, {
            exitCode: opts.exitCode ?? EXIT.domain,
            data: { args, stderr: result.stderr },
          }),
        )
      } else resolve(result)
    })
    if (opts.input !== undefined) child.stdin.end(opts.input)
    else child.stdin.end()
  })
}

/** Like git() but with extra environment variables (e.g. GIT_INDEX_FILE for a temporary index). */
export function gitWith(extraEnv: Record<string, string | undefined>, args: string[], opts: GitOptions): Promise<GitResult> {
  return git(args, { ...opts, extraEnv: { ...opts.extraEnv, ...extraEnv } })
}

export interface BatchObject {
  oid: string
  type: string
  content: Buffer
}

/**
 * A long-lived `git cat-file --batch`: reads many objects over one process.
 * Requests are answered in order, so a FIFO of waiters is enough.
 *
 * @example
 * const batch = new CatFileBatch({ cwd, env })
 * const obj = await batch.read('HEAD:params.yaml') // null when missing
 * batch.close()
 */
export class CatFileBatch {
  private child
  private buf: Buffer = Buffer.alloc(0)
  private waiters: Array<{ resolve: (o: BatchObject | null) => void; reject: (e: Error) => void }> = []
  private failed: Error | null = null

  constructor(opts: { cwd: string; env: Record<string, string | undefined> }) {
    this.child = spawn('git', ['cat-file', '--batch'], { cwd: opts.cwd, env: gitEnv(opts.env), stdio: ['pipe', 'pipe', 'ignore'] })
    this.child.stdout.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d
      this.drain()
    })
    const fail = (e: Error) => {
      this.failed = e
      for (const w of this.waiters.splice(0)) w.reject(e)
    }
    this.child.on('error', fail)
    this.child.on('close', () => fail(new Error('git cat-file --batch exited')))
    this.child.stdin.on('error', () => {})
  }

  private drain() {
    while (this.waiters.length) {
      const nl = this.buf.indexOf(10)
      if (nl < 0) return
      const header = this.buf.subarray(0, nl).toString('utf8')
      if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
        this.buf = this.buf.subarray(nl + 1)
        this.waiters.shift()!.resolve(null)
        continue
      }
      const [oid, type, sizeText] = header.split(' ')
      const size = Number(sizeText)
      if (this.buf.length < nl + 1 + size + 1) return
      const content = Buffer.from(this.buf.subarray(nl + 1, nl + 1 + size))
      this.buf = this.buf.subarray(nl + 1 + size + 1)
      this.waiters.shift()!.resolve({ oid, type, content })
    }
  }

  read(spec: string): Promise<BatchObject | null> {
    if (this.failed) return Promise.reject(this.failed)
    if (/[\n\r]/.test(spec)) return Promise.resolve(null)
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject })
      this.child.stdin.write(spec + '\n')
    })
  }

  close() {
    this.child.removeAllListeners('close')
    this.child.on('close', () => {})
    this.child.stdin.end()
  }
}

/**
 * Run a git command that writes a commit or tag (commit-tree, notes, tag -a) with the
 * user's identity, and again with a fallback one when git has none: a run, a note or a
 * registry event is never lost for want of `user.email`.
 */
export async function gitAsAuthor(args: string[], opts: GitOptions): Promise<GitResult> {
  const res = await git(args, { ...opts, allowFail: true })
  if (res.code === 0) return res
  if (/tell me who you are|empty ident|unable to auto-detect/i.test(res.stderr))
    return git(args, { ...opts, extraEnv: { ...opts.extraEnv, ...fallbackIdentity(opts.env) } })
  if (opts.allowFail) return res
  const first = res.stderr.trim().split('\n').filter(Boolean).pop() ?? `exit ${res.code}`
  throw new XpError(opts.errorCode ?? 'XP_GIT_FAILED', `git ${args[0]} failed: ${first}`, {
    exitCode: opts.exitCode ?? EXIT.domain,
    data: { args, stderr: res.stderr },
  })
}

/**
 * Read many objects in one `git cat-file --batch --buffer`: all names written at once, the
 * answers parsed from one buffer. For bulk walks (thousands of run commits and trees) this
 * is several times faster than CatFileBatch's request-by-request round trips. Results are
 * in the order asked; null for a missing object.
 *
 * @example
 * const [commit] = await readObjects(['HEAD'], { cwd, env })
 */
export function readObjects(specs: string[], opts: { cwd: string; env: Record<string, string | undefined> }): Promise<Array<BatchObject | null>> {
  if (!specs.length) return Promise.resolve([])
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['cat-file', '--batch', '--buffer'], { cwd: opts.cwd, env: gitEnv(opts.env), stdio: ['pipe', 'pipe', 'ignore'] })
    const chunks: Buffer[] = []
    child.stdout.on('data', (d: Buffer) => chunks.push(d))
    child.on('error', reject)
    child.stdin.on('error', () => {})
    child.on('close', (code) => {
      if (code !== 0) return reject(new XpError('XP_GIT_FAILED', `git cat-file --batch exited ${code}`))
      const buf = Buffer.concat(chunks)
      const out: Array<BatchObject | null> = []
      let pos = 0
      for (let i = 0; i < specs.length; i++) {
        const nl = buf.indexOf(10, pos)
        if (nl < 0) break
        const header = buf.toString('utf8', pos, nl)
        if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
          out.push(null)
          pos = nl + 1
          continue
        }
        const [oid, type, sizeText] = header.split(' ')
        const size = Number(sizeText)
        out.push({ oid, type, content: buf.subarray(nl + 1, nl + 1 + size) })
        pos = nl + 1 + size + 1
      }
      resolve(out)
    })
    child.stdin.end(specs.map((x) => (/[\n\r]/.test(x) ? 'x' : x)).join('\n') + '\n')
  })
}

/** The `git` identity env to use when the user has none configured, so a run is never lost for lack of one. */
export function fallbackIdentity(env: Record<string, string | undefined>): Record<string, string> {
  const user = env.USER || env.LOGNAME || 'xp'
  return {
    GIT_AUTHOR_NAME: env.GIT_AUTHOR_NAME || user,
    GIT_AUTHOR_EMAIL: env.GIT_AUTHOR_EMAIL || `${user}@localhost`,
    GIT_COMMITTER_NAME: env.GIT_COMMITTER_NAME || user,
    GIT_COMMITTER_EMAIL: env.GIT_COMMITTER_EMAIL || `${user}@localhost`,
  }
}

/**
 * One `git cat-file --batch-command --buffer` for several bulk reads in a row (a tree walk
 * level by level): each `read` writes its names and a `flush`, and gets the answers in
 * order, null for a missing object. One process for a whole walk where readObjects spawns
 * one per level. A git without `--batch-command` (before 2.36) gets readObjects instead.
 *
 * @example
 * const s = new BatchSession({ cwd, env })
 * const [commit] = await s.read(['HEAD'])
 * s.close()
 */
export class BatchSession {
  private child
  private tail: Buffer = Buffer.alloc(0)
  private pending: { n: number; out: Array<BatchObject | null>; resolve: (o: Array<BatchObject | null>) => void; reject: (e: Error) => void } | null = null
  private dead = false

  constructor(private readonly opts: { cwd: string; env: Record<string, string | undefined> }) {
    this.child = spawn('git', ['cat-file', '--batch-command', '--buffer'], { cwd: opts.cwd, env: gitEnv(opts.env), stdio: ['pipe', 'pipe', 'ignore'] })
    this.child.stdout.on('data', (d: Buffer) => {
      this.tail = this.tail.length ? Buffer.concat([this.tail, d]) : d
      this.drain()
    })
    const fail = () => {
      this.dead = true
      const p = this.pending
      this.pending = null
      p?.reject(new Error('git cat-file --batch-command exited'))
    }
    this.child.on('error', fail)
    this.child.on('close', fail)
    this.child.stdin.on('error', () => {})
  }

  private drain() {
    const p = this.pending
    while (p && p.out.length < p.n) {
      const nl = this.tail.indexOf(10)
      if (nl < 0) return
      const header = this.tail.toString('utf8', 0, nl)
      if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
        p.out.push(null)
        this.tail = this.tail.subarray(nl + 1)
        continue
      }
      const [oid, type, sizeText] = header.split(' ')
      const size = Number(sizeText)
      if (this.tail.length < nl + 1 + size + 1) return
      p.out.push({ oid, type, content: Buffer.from(this.tail.subarray(nl + 1, nl + 1 + size)) })
      this.tail = this.tail.subarray(nl + 1 + size + 1)
    }
    if (p && p.out.length === p.n) {
      this.pending = null
      p.resolve(p.out)
    }
  }

  /** One read at a time (the walk is level by level). */
  async read(specs: string[]): Promise<Array<BatchObject | null>> {
    if (!specs.length) return []
    if (this.dead || this.pending) return readObjects(specs, this.opts)
    try {
      return await new Promise<Array<BatchObject | null>>((resolve, reject) => {
        this.pending = { n: specs.length, out: [], resolve, reject }
        this.child.stdin.write(specs.map((x) => `contents ${/[\n\r]/.test(x) ? 'x' : x}\n`).join('') + 'flush\n')
      })
    } catch {
      return readObjects(specs, this.opts)
    }
  }

  close() {
    this.child.removeAllListeners('close')
    this.child.on('close', () => {})
    this.child.stdin.end()
  }
}
