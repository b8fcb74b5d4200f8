/**
 * A one-line progress display on stderr, only on a TTY, redrawn at most 10 times a second:
 * what is done, bytes, rate and ETA when the total is known.
 */
import type { Progress } from '../core/context.js'
import { formatBytes } from './format-bytes.js'

function formatEta(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--'
  const m = Math.floor(s / 60)
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`
}

/** One line of progress (pure, for tests). `elapsedS` since the phase began. */
export function progressLine(p: Progress, elapsedS: number): string {
  const total = p.total !== undefined ? `/${p.total}` : ''
  if (p.bytes === undefined) return `${p.phase} ${p.done}${total}`
  const rate = elapsedS > 0 ? p.bytes / elapsedS : 0
  const size = p.totalBytes ? `${formatBytes(p.bytes)}/${formatBytes(p.totalBytes)}` : formatBytes(p.bytes)
  const eta = p.totalBytes && rate > 0 ? ` ETA ${formatEta((p.totalBytes - p.bytes) / rate)}` : ''
  return `${p.phase} ${p.done}${total}, ${size}, ${formatBytes(Math.round(rate))}/s${eta}`
}

export function ttyProgress(stream: NodeJS.WriteStream = process.stderr): { onProgress?: (p: Progress) => void; done: () => void } {
  if (!stream.isTTY) return { done: () => {} }
  let last = 0
  let shown = false
  const start = new Map<string, number>()
  return {
    onProgress(p) {
      const now = Date.now()
      if (!start.has(p.phase)) start.set(p.phase, now)
      if (now - last < 100) return
      last = now
      shown = true
      stream.write(`\r\x1b[2K${progressLine(p, (now - start.get(p.phase)!) / 1000).slice(0, (stream.columns || 80) - 1)}`)
    },
    done() {
      if (shown) stream.write('\r\x1b[2K')
    },
  }
}
