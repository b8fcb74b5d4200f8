/**
 * The Python packages (name and version) of the interpreter a run's command uses, stored
 * in the run's tree as `.xp-run/packages.txt` (`name==version`, one a line, sorted), shown
 * on the run page and compared by `xp diff --env` (docs/show-diff.md#env).
 *
 * Never a `pip freeze` per run: the interpreter is asked once for its `sys.path`, the
 * installed distributions are read from the `*.dist-info` / `*.egg-info` folders there,
 * and the answer is cached in `.xp/tmp/python-packages.json`, keyed by the interpreter's
 * path, its real path and mtime, the variables that pick an environment (VIRTUAL_ENV,
 * CONDA_PREFIX, PYENV_VERSION, PYTHONPATH), and the mtimes of its site-packages folders:
 * `pip install` or `pip uninstall` adds or removes a folder there, so the next run reads
 * them again. A cache hit costs a few `stat` calls.
 */
import fs from 'node:fs'
import path from 'node:path'
import { spawn } from 'node:child_process'
import type { Context } from '../context.js'
import { writeFileAtomic } from '../fsutil.js'
import type { CommandSpec } from './command.js'

export const PACKAGES_IN_TREE = '.xp-run/packages.txt'
const PYTHON_NAME = /^python(\d+(\.\d+)?)?$/
const ENV_KEYS = ['VIRTUAL_ENV', 'CONDA_PREFIX', 'PYENV_VERSION', 'PYTHONPATH', 'PYTHONHOME']

/**
 * The interpreter word of a command: `python3 train.py`, `.venv/bin/python -m x`, a shell
 * line whose first command is one (`FOO=1 python train.py && ...`), or a `.py` script whose
 * shebang names one. Null when the command does not start Python itself.
 */
export function interpreterWord(spec: CommandSpec, cwd: string): string | null {
  let words: string[]
  if (/^(sh|bash|dash|zsh)$/.test(path.basename(spec.file)) && spec.args[0] === '-c') words = (spec.args[1] ?? '').trim().split(/\s+/)
  else words = [spec.file, ...spec.args]
  while (words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0])) words.shift()
  if (words[0] === 'env' || words[0] === 'exec') words.shift()
  const first = words[0]
  if (!first) return null
  if (PYTHON_NAME.test(path.basename(first))) return first
  if (/\.py$/.test(first)) {
    try {
      const head = fs.readFileSync(path.resolve(cwd, first), 'utf8').slice(0, 200).split('\n')[0]
      const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(head)
      if (m) return path.basename(m[1]) === 'env' && m[2] ? m[2] : m[1]
    } catch {
      return null
    }
  }
  return null
}

/** A word as the command's PATH resolves it (relative to cwd when it has a slash). */
function resolveExecutable(word: string, cwd: string, env: Context['env']): string | null {
  const candidates = word.includes('/')
    ? [path.resolve(cwd, word)]
    : (env.PATH ?? '')
        .split(':')
        .filter(Boolean)
        .map((d) => path.join(d, word))
  for (const c of candidates) {
    try {
      fs.accessSync(c, fs.constants.X_OK)
      if (fs.statSync(c).isFile()) return c
    } catch {
      // next
    }
  }
  return null
}

/** `name-version.dist-info` / `.egg-info` folder name, as pip writes it, to [name, version]. */
export function distFolder(name: string): [string, string] | null {
  const m = /^(.+?)-([^-]+?)(?:-py[\d.]+)?\.(dist-info|egg-info)$/.exec(name)
  if (!m) return null
  return [m[1].toLowerCase().replace(/[-_.]+/g, '-'), m[2]]
}

/** Installed distributions in the given folders, first folder winning (as Python's import does). */
export function readInstalled(sites: string[]): Array<[string, string]> {
  const found = new Map<string, string>()
  for (const site of sites) {
    let names: string[]
    try {
      names = fs.readdirSync(site)
    } catch {
      continue
    }
    for (const n of names) {
      const d = distFolder(n)
      if (d && !found.has(d[0])) found.set(d[0], d[1])
    }
  }
  return [...found].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

function mtime(p: string): number | null {
  try {
    return fs.statSync(p).mtimeMs
  } catch {
    return null
  }
}

interface CacheEntry {
  key: string
  sites: Array<{ path: string; mtime: number | null }>
  python: string
  packages: Array<[string, string]>
}

function askSysPath(exe: string, env: Context['env'], cwd: string): Promise<{ python: string; sites: string[] } | null> {
  const code = 'import sys, json; print(json.dumps({"v": sys.version.split()[0], "p": [p for p in sys.path if p]}))'
  return new Promise((resolve) => {
    let out = ''
    let child: ReturnType<typeof spawn>
    try {
      child = spawn(exe, ['-c', code], { cwd, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 })
    } catch {
      return resolve(null)
    }
    child.stdout?.on('data', (d) => (out += d))
    child.on('error', () => resolve(null))
    child.on('close', (c) => {
      if (c !== 0) return resolve(null)
      try {
        const v = JSON.parse(out)
        // only folders that hold distributions: site-packages, dist-packages, --target dirs
        const sites = (v.p as string[]).filter((p) => {
          try {
            if (!fs.statSync(p).isDirectory()) return false
            // an empty site-packages counts: its mtime tells when the first package lands
            return /^(site|dist)-packages$/.test(path.basename(p)) || fs.readdirSync(p).some((n) => distFolder(n) !== null)
          } catch {
            return false
          }
        })
        resolve({ python: String(v.v), sites })
      } catch {
        resolve(null)
      }
    })
  })
}

export interface PythonPackages {
  /** the interpreter as the command named it, resolved on its PATH */
  interpreter: string
  python: string
  packages: Array<[string, string]>
  /** true when read from the cache (no Python started) */
  cached: boolean
}

/**
 * The packages of the interpreter `spec` runs, from the cache when nothing changed.
 * Null when the command does not start Python, or the interpreter cannot be asked.
 *
 * @example
 * const p = await pythonPackages({ spec, cwd, env, cacheFile: '.xp/tmp/python-packages.json' })
 * p?.packages // [['numpy', '1.26.4'], ['scikit-learn', '1.4.2']]
 */
export async function pythonPackages(o: { spec: CommandSpec; cwd: string; env: Context['env']; cacheFile: string }): Promise<PythonPackages | null> {
  const word = interpreterWord(o.spec, o.cwd)
  if (!word) return null
  const exe = resolveExecutable(word, o.cwd, o.env)
  if (!exe) return null
  let real = exe
  try {
    real = fs.realpathSync(exe)
  } catch {
    // keep the path
  }
  // pyenv picks a version from .python-version up the tree: its mtime is part of the key
  const pyenvFiles = [path.join(o.cwd, '.python-version'), path.join(o.env.PYENV_ROOT ?? path.join(o.env.HOME ?? '/', '.pyenv'), 'version')]
  const key = JSON.stringify([exe, real, mtime(real), ...ENV_KEYS.map((k) => o.env[k] ?? null), ...pyenvFiles.map(mtime)])
  let cache: Record<string, CacheEntry> = {}
  try {
    cache = JSON.parse(fs.readFileSync(o.cacheFile, 'utf8'))
  } catch {
    // none yet
  }
  const hit = cache[exe]
  if (hit && hit.key === key && hit.sites.every((s) => mtime(s.path) === s.mtime))
    return { interpreter: exe, python: hit.python, packages: hit.packages, cached: true }
  const asked = await askSysPath(exe, o.env, o.cwd)
  if (!asked) return null
  const packages = readInstalled(asked.sites)
  cache[exe] = { key, sites: asked.sites.map((p) => ({ path: p, mtime: mtime(p) })), python: asked.python, packages }
  try {
    fs.mkdirSync(path.dirname(o.cacheFile), { recursive: true })
    writeFileAtomic(o.cacheFile, JSON.stringify(cache))
  } catch {
    // a cache only
  }
  return { interpreter: exe, python: asked.python, packages, cached: false }
}

/** The file stored in the run's tree. */
export function packagesText(p: PythonPackages): string {
  return p.packages.map(([n, v]) => `${n}==${v}\n`).join('')
}

/** Parse `.xp-run/packages.txt` back. */
export function parsePackagesText(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const i = line.indexOf('==')
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 2).trim()
  }
  return out
}
