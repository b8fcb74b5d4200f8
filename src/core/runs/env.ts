/**
 * What a run records of its environment (docs/architecture.md#run-record): host, user, OS, tool versions and
 * allow-listed variables only. Values of secret-looking names are recorded as `***`, other
 * values pass the secret scrubber (core/safety/secrets.ts).
 */
import os from 'node:os'
import fs from 'node:fs'
import path from 'node:path'
import { writeFileAtomic } from '../fsutil.js'
import { spawn } from 'node:child_process'
import type { Context } from '../context.js'
import { Scrubber, SECRET_NAME } from '../safety/secrets.js'

export const DEFAULT_ENV_VARS = [
  'CUDA_VISIBLE_DEVICES',
  'PYTHONHASHSEED',
  'OMP_NUM_THREADS',
  'MKL_NUM_THREADS',
  'CUBLAS_WORKSPACE_CONFIG',
  'TF_DETERMINISTIC_OPS',
  'TORCH_DETERMINISTIC',
  'SLURM_JOB_ID',
  'SLURM_ARRAY_TASK_ID',
  'CI',
  'GITHUB_RUN_ID',
  'GITHUB_SHA',
]
export { SECRET_NAME }

function globToRegExp(glob: string): RegExp {
  return new RegExp(
    '^' +
      glob
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.') +
      '$',
  )
}

/** Allow-listed variables from `XP_ENV_VARS` (comma-separated, `*` allowed) or the defaults; secrets masked. */
export function recordedVars(env: Context['env']): Record<string, string> {
  const names =
    env.XP_ENV_VARS !== undefined
      ? env.XP_ENV_VARS.split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : DEFAULT_ENV_VARS
  const patterns = names.map(globToRegExp)
  const scrubber = Scrubber.forEnv(env)
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(env).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (v === undefined || !patterns.some((p) => p.test(k))) continue
    // by name, then by value: DATABASE_URL=postgres://u:pw@h/db is recorded as postgres://u:***@h/db
    out[k] = SECRET_NAME.test(k) ? '***' : scrubber.text(v)
  }
  return out
}

function versionOf(cmd: string, args: string[], env: Context['env'], timeoutMs = 3000): Promise<string | null> {
  return new Promise((resolve) => {
    let out = ''
    let child: ReturnType<typeof spawn>
    try {
      child = spawn(cmd, args, { env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs })
    } catch {
      return resolve(null)
    }
    child.stdout?.on('data', (d) => (out += d))
    child.stderr?.on('data', (d) => (out += d))
    child.on('error', () => resolve(null))
    child.on('close', (code) =>
      resolve(
        code === 0
          ? out
              .trim()
              .split('\n')[0]
              .replace(/^(Python|git version) /, '')
          : null,
      ),
    )
  })
}

/** The version of the `git` on PATH (`2.39.5`), or null when there is none. */
export function gitVersion(env: Context['env']): Promise<string | null> {
  return versionOf('git', ['--version'], env)
}

/** Where `git` is on PATH, with its size and mtime: the key of the version cache. */
function gitBinaryKey(env: Context['env']): string | null {
  for (const dir of (env.PATH ?? '').split(':')) {
    if (!dir) continue
    try {
      const st = fs.statSync(path.join(dir, 'git'))
      if (st.isFile()) return `${path.join(dir, 'git')}:${st.size}:${st.mtimeMs}`
    } catch {
      // not in this folder
    }
  }
  return null
}

/** `git --version`, cached on disk by the binary's path, size and mtime: one spawn saved per run. */
async function gitVersionCached(ctx: Context, cacheFile?: string): Promise<string | null> {
  const key = cacheFile ? gitBinaryKey(ctx.env) : null
  if (cacheFile && key) {
    try {
      const c = JSON.parse(fs.readFileSync(cacheFile, 'utf8'))
      if (c.key === key && typeof c.version === 'string') return c.version
    } catch {
      // no cache yet
    }
  }
  const version = await versionOf('git', ['--version'], ctx.env)
  if (cacheFile && key && version) {
    try {
      writeFileAtomic(cacheFile, JSON.stringify({ key, version }))
    } catch {
      // a cache only
    }
  }
  return version
}

/**
 * Capture the environment. Slow probes (python through pyenv shims) run while the user's
 * command runs, so the caller starts this before spawning and awaits it after.
 */
export async function captureEnv(ctx: Context, opts: { python: boolean; cacheFile?: string }): Promise<Record<string, unknown>> {
  const [python, gitVersion] = await Promise.all([opts.python ? versionOf('python3', ['--version'], ctx.env) : null, gitVersionCached(ctx, opts.cacheFile)])
  let user = ctx.env.USER ?? ''
  try {
    user = os.userInfo().username
  } catch {
    // no passwd entry (containers): keep $USER
  }
  return {
    host: os.hostname(),
    user,
    os: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    python,
    git: gitVersion,
    cpus: os.cpus().length,
    vars: recordedVars(ctx.env),
  }
}
