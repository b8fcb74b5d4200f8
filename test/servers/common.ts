/**
 * Shared bits of the test servers: free ports on 127.0.0.1, waiting for a port to accept,
 * and stopping a child by its pid. Every server here starts on 127.0.0.1 and is stopped by
 * pid, so tests and benchmarks can reuse them.
 */
import net from 'node:net'
import fs from 'node:fs'

/**
 * A port nobody listens on right now, for servers that must be told their port (sshd,
 * git daemon, Ceph). Random in 20000-59999 rather than the kernel's next ephemeral port,
 * so two test files starting servers at once rarely pick the same one.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; ; i++) {
    const port = 20000 + Math.floor(Math.random() * 40000)
    const ok = await new Promise<boolean>((resolve) => {
      const srv = net.createServer()
      srv.unref()
      srv.once('error', () => resolve(false))
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
    })
    if (ok) return port
    if (i > 50) throw new Error('no free port found')
  }
}

/** Resolve once something accepts TCP connections on the port (or fail after timeoutMs). */
export async function waitForPort(port: number, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1')
      s.once('connect', () => (s.destroy(), resolve(true)))
      s.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > until) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Send SIGTERM to a pid, then SIGKILL if it is still alive after graceMs. */
export async function stopPid(pid: number | undefined, graceMs = 3000): Promise<void> {
  if (!pid) return
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return
  }
  const until = Date.now() + graceMs
  while (Date.now() < until) {
    try {
      process.kill(pid, 0)
    } catch {
      return
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // gone
  }
}

/** The pid written in a daemon's pid file, if any. */
export function readPidFile(file: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim())
    return Number.isInteger(n) && n > 0 ? n : undefined
  } catch {
    return undefined
  }
}
