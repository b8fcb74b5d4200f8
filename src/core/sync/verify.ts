/** Hash a downloaded file to check it against its oid (XXH3-128, as the cache names objects). */
import fs from 'node:fs'
import { createXXHash128 } from 'hash-wasm'

export async function hashFileStreaming(file: string): Promise<{ hash: string; size: number }> {
  const h = await createXXHash128()
  h.init()
  const fd = fs.openSync(file, 'r')
  const buf = Buffer.allocUnsafe(1024 * 1024)
  let size = 0
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null)
      if (n === 0) break
      h.update(buf.subarray(0, n))
      size += n
    }
  } finally {
    fs.closeSync(fd)
  }
  return { hash: h.digest('hex'), size }
}
