/**
 * Progress on stderr, drawn only when stderr is a TTY (quiet when piped): a bar with the
 * count, bytes, rate and ETA, redrawn at most 10 times a second.
 */
import type { Progress } from '../core/context.js'
import { formatBytes } from './format-bytes.js'

export { formatBytes }

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

/** A progress callback for the context (undefined off a TTY) and `done` to clear the line. */
export function ttyProgress(stream: NodeJS.WriteStream = process.stderr): { onProgress?: (p: Progress) => void; done: () => void } {
  if (!stream.isTTY) return { done: () => {} }
  const start = new Map<string, number>()
  let last = 0
  let shown = false
  return {
    onProgress(p) {
      const now = Date.now()
      if (!start.has(p.phase)) start.set(p.phase, now)
      const finished = p.total !== undefined && p.done >= p.total
      if (now - last < 100 && !finished) return
      last = now
      shown = true
      stream.write(`\r\x1b[2K${progressLine(p, (now - start.get(p.phase)!) / 1000).slice(0, (stream.columns || 80) - 1)}`)
    },
    done() {
      if (shown) stream.write('\r\x1b[2K')
      shown = false
    },
  }
}

/** The callback alone, for callers that let the last line stand. */
export function progressBar(stream: NodeJS.WriteStream = process.stderr): ((p: Progress) => void) | undefined {
  return ttyProgress(stream).onProgress
}
