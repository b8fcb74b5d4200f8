/**
 * System metrics of a running command (docs/ui.md#system-metrics): every `interval`
 * seconds, CPU % and resident memory of the command's process tree, read from /proc, and
 * per-GPU utilization and memory from ONE `nvidia-smi --query-gpu=... -l N` process (never
 * a spawn per sample). Each sample is one JSON line appended to a file xp owns
 * (`.xp/runs/<id>/system.jsonl`), which becomes the run's series `system/*`
 * (`.xp-run/system.jsonl` in its tree). The command itself writes nothing and waits for
 * nothing: sampling is a timer in xp's own process.
 */
import fs from 'node:fs'
import path from 'node:path'
import { spawn, type ChildProcess } from 'node:child_process'
import type { Context } from '../context.js'

export const SYSTEM_SERIES_IN_TREE = '.xp-run/system.jsonl'
/** Linux's USER_HZ and page size: the same on every architecture Node ships for. */
const CLK_TCK = 100
const PAGE = 4096
const GPU_QUERY = 'index,utilization.gpu,memory.used,memory.total'

interface ProcStat {
  ppid: number
  /** utime + stime + cutime + cstime, in ticks */
  ticks: number
  rssBytes: number
}

/** Fields of /proc/PID/stat after the command name (which may hold spaces and parentheses). */
export function parseProcStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(')')
  if (close < 0) return null
  const f = text.slice(close + 2).split(' ')
  // f[0] is field 3 (state): ppid is field 4, utime..cstime 14..17, rss 24
  const n = (i: number) => Number(f[i - 3])
  const ticks = n(14) + n(15) + n(16) + n(17)
  if (!Number.isFinite(ticks)) return null
  return { ppid: n(4), ticks, rssBytes: n(24) * PAGE }
}

function readStat(pid: number): ProcStat | null {
  try {
    return parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, 'latin1'))
  } catch {
    return null
  }
}

/** The children of one process, from /proc/PID/task/TID/children (every thread's). */
function childrenOf(pid: number): number[] | null {
  let tids: string[]
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`)
  } catch {
    return []
  }
  const out: number[] = []
  for (const tid of tids) {
    let text: string
    try {
      text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null // a kernel without CONFIG_PROC_CHILDREN
      continue
    }
    for (const s of text.split(' ')) if (s) out.push(Number(s))
  }
  return out
}

/** Every process under `root` (itself included): children files, or one scan of /proc where the kernel lacks them. */
export function processTree(root: number): Map<number, ProcStat> {
  const out = new Map<number, ProcStat>()
  const rootStat = readStat(root)
  if (!rootStat) return out
  out.set(root, rootStat)
  const queue = [root]
  let scanned: Map<number, ProcStat> | null = null
  while (queue.length) {
    const pid = queue.shift()!
    let kids = scanned ? null : childrenOf(pid)
    if (kids === null) {
      scanned ??= scanProc()
      kids = [...scanned].filter(([, s]) => s.ppid === pid).map(([p]) => p)
    }
    for (const k of kids) {
      if (out.has(k)) continue
      const s = scanned?.get(k) ?? readStat(k)
      if (!s) continue
      out.set(k, s)
      queue.push(k)
    }
  }
  return out
}

function scanProc(): Map<number, ProcStat> {
  const all = new Map<number, ProcStat>()
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const s = readStat(Number(name))
    if (s) all.set(Number(name), s)
  }
  return all
}

export interface GpuSample {
  index: number
  utilization: number
  memoryUsedMiB: number
  memoryTotalMiB: number
}

/** One line of `nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits`. */
export function parseGpuLine(line: string): GpuSample | null {
  const f = line.split(',').map((s) => s.trim())
  if (f.length < 4) return null
  const [index, util, used, total] = f.map(Number)
  if (![index, used, total].every(Number.isFinite)) return null
  // `[N/A]` (utilization on some boards) stays out of the sample rather than becoming 0
  return { index, utilization: Number.isFinite(util) ? util : NaN, memoryUsedMiB: used, memoryTotalMiB: total }
}

/** Where `nvidia-smi` is on the command's PATH, or null. */
function findOnPath(name: string, env: Context['env']): string | null {
  for (const dir of (env.PATH ?? '').split(':')) {
    if (!dir) continue
    const p = path.join(dir, name)
    try {
      fs.accessSync(p, fs.constants.X_OK)
      if (fs.statSync(p).isFile()) return p
    } catch {
      // not here
    }
  }
  return null
}

export interface SysMonitor {
  /** take a last sample, stop the timer and nvidia-smi; resolves once the file is complete */
  stop(): Promise<void>
  /** samples written so far */
  readonly samples: number
}

/**
 * Sample the process tree of `pid` every `intervalS` seconds into `file` (JSON lines with
 * `step` = seconds since the start, and `system/*` keys).
 *
 * @example
 * const mon = startSysMonitor({ pid: child.pid, intervalS: 5, file: '.xp/runs/ID/system.jsonl', env: ctx.env })
 * // ... when the command has ended:
 * await mon.stop()
 */
export function startSysMonitor(o: { pid: number; intervalS: number; file: string; env: Context['env'] }): SysMonitor {
  const started = performance.now()
  let lastTicks = 0
  let lastAt = started
  for (const s of processTree(o.pid).values()) lastTicks += s.ticks
  const gpus = new Map<number, GpuSample>()
  let smi: ChildProcess | null = null
  const smiPath = findOnPath('nvidia-smi', o.env)
  if (smiPath) {
    const every =
      o.intervalS >= 1 && Number.isInteger(o.intervalS) ? ['-l', String(o.intervalS)] : ['-lms', String(Math.max(50, Math.round(o.intervalS * 1000)))]
    try {
      smi = spawn(smiPath, [`--query-gpu=${GPU_QUERY}`, '--format=csv,noheader,nounits', ...every], {
        stdio: ['ignore', 'pipe', 'ignore'],
        env: o.env as NodeJS.ProcessEnv,
      })
      let buf = ''
      smi.stdout!.setEncoding('utf8')
      smi.stdout!.on('data', (d: string) => {
        buf += d
        let nl: number
        while ((nl = buf.indexOf('\n')) >= 0) {
          const g = parseGpuLine(buf.slice(0, nl))
          buf = buf.slice(nl + 1)
          if (g) gpus.set(g.index, g)
        }
      })
      smi.on('error', () => (smi = null))
    } catch {
      smi = null
    }
  }
  let fd: number | null = null
  let samples = 0
  const sample = () => {
    const now = performance.now()
    const tree = processTree(o.pid)
    if (!tree.size) return
    let ticks = 0
    let rss = 0
    for (const s of tree.values()) {
      ticks += s.ticks
      rss += s.rssBytes
    }
    const dt = (now - lastAt) / 1000
    if (dt <= 0) return
    // processes that ended between samples take their ticks with them: never below 0
    const cpu = Math.max(0, ((ticks - lastTicks) / CLK_TCK / dt) * 100)
    lastTicks = ticks
    lastAt = now
    const row: Record<string, number> = {
      step: Math.round((now - started) / 100) / 10,
      'system/cpu_percent': Math.round(cpu * 10) / 10,
      'system/rss_mb': Math.round(rss / 1e5) / 10,
      'system/processes': tree.size,
    }
    for (const g of [...gpus.values()].sort((a, b) => a.index - b.index)) {
      if (Number.isFinite(g.utilization)) row[`system/gpu${g.index}/utilization_percent`] = g.utilization
      row[`system/gpu${g.index}/memory_used_mb`] = Math.round(g.memoryUsedMiB * 1.048576 * 10) / 10
      if (g.memoryTotalMiB > 0) row[`system/gpu${g.index}/memory_percent`] = Math.round((g.memoryUsedMiB / g.memoryTotalMiB) * 1000) / 10
    }
    try {
      fd ??= fs.openSync(o.file, 'a')
      fs.writeSync(fd, JSON.stringify(row) + '\n')
      samples++
    } catch {
      // a full disk stops the samples, never the run
    }
  }
  const timer = setInterval(sample, o.intervalS * 1000)
  timer.unref()
  return {
    get samples() {
      return samples
    },
    async stop() {
      clearInterval(timer)
      if (smi && smi.exitCode === null) {
        const exited = new Promise<void>((r) => smi!.once('close', () => r()))
        smi.kill('SIGTERM')
        await Promise.race([exited, new Promise((r) => setTimeout(r, 1000))])
      }
      if (fd !== null) fs.closeSync(fd)
    },
  }
}
