/** A progress bar on stderr with bytes, rate and ETA, drawn only when stderr is a TTY. */
import type { Progress } from '../core/context.js'

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`
}

function formatEta(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--'
  const m = Math.floor(s / 60)
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`
}

/** One line of progress (pure, for tests). */
export function progressLine(p: Progress, elapsedS: number, width = 24): string {
  const bytes = p.bytes ?? 0
  const rate = elapsedS > 0 ? bytes / elapsedS : 0
  const frac = p.totalBytes ? Math.min(1, bytes / p.totalBytes) : p.total ? Math.min(1, p.done / p.total) : 0
  const filled = Math.round(frac * width)
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`
  const size = p.totalBytes ? `${formatBytes(bytes)}/${formatBytes(p.totalBytes)}` : formatBytes(bytes)
  const eta = p.totalBytes && rate > 0 ? formatEta((p.totalBytes - bytes) / rate) : ''
  return `${p.phase} ${bar} ${p.done}/${p.total ?? '?'} ${size} ${formatBytes(rate)}/s${eta ? ` ETA ${eta}` : ''}`
}

/** A progress callback for the context, or undefined when stderr is not a terminal. */
export function progressBar(stream: NodeJS.WriteStream = process.stderr): ((p: Progress) => void) | undefined {
  if (!stream.isTTY) return undefined
  const start = new Map<string, number>()
  return (p) => {
    if (!start.has(p.phase)) start.set(p.phase, Date.now())
    const line = progressLine(p, (Date.now() - start.get(p.phase)!) / 1000).slice(0, (stream.columns || 80) - 1)
    stream.write(`\r\x1b[K${line}`)
    if (p.total !== undefined && p.done >= p.total) stream.write('\n')
  }
}
