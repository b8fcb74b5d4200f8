/** A one-line progress display on stderr, only on a TTY, redrawn at most 10 times a second. */
import type { Progress } from '../core/context.js'
import { formatBytes } from './format-bytes.js'

export function ttyProgress(stream: NodeJS.WriteStream = process.stderr): { onProgress?: (p: Progress) => void; done: () => void } {
  if (!stream.isTTY) return { done: () => {} }
  let last = 0
  let shown = false
  return {
    onProgress(p) {
      const now = Date.now()
      if (now - last < 100) return
      last = now
      shown = true
      const total = p.total ? `/${p.total}` : ''
      const bytes = p.bytes !== undefined ? `, ${formatBytes(p.bytes)}${p.totalBytes ? `/${formatBytes(p.totalBytes)}` : ''}` : ''
      stream.write(`\r\x1b[2K${p.phase} ${p.done}${total} files${bytes}`)
    },
    done() {
      if (shown) stream.write('\r\x1b[2K')
    },
  }
}
