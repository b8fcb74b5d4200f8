/**
 * Git remotes for tests and benchmarks: a bare repo by path, smart HTTP through
 * `git http-backend` behind a small Node server (CGI), and `git daemon`. All on 127.0.0.1.
 *
 * @example
 * const bare = makeBare(dir)                  // '/tmp/x/remote.git'
 * const http = await startGitHttp(root)       // http.url('remote.git')
 * await http.stop()
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import http from 'node:http'
import fs from 'node:fs'
import path from 'node:path'
import { freePort, waitForPort, stopPid } from './common.js'

const GIT_ENV = { GIT_CONFIG_NOSYSTEM: '1', HOME: '/nonexistent' }

/** Create a bare repository at root/name and return its path. */
export function makeBare(root: string, name = 'remote.git'): string {
  const dir = path.join(root, name)
  fs.mkdirSync(dir, { recursive: true })
  const r = spawnSync('git', ['init', '-q', '--bare', '-b', 'main', dir], { env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`git init --bare failed: ${r.stderr}`)
  return dir
}

export interface GitServer {
  port: number
  /** the URL of a repository under the server's root */
  url(name: string): string
  stop(): Promise<void>
}

/**
 * Smart HTTP: each request runs `git http-backend` as CGI with GIT_PROJECT_ROOT, PATH_INFO,
 * QUERY_STRING, REQUEST_METHOD, CONTENT_TYPE, GIT_PROTOCOL and REMOTE_USER (which enables
 * push); its `Status:` header becomes the response status.
 */
export async function startGitHttp(root: string): Promise<GitServer> {
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1')
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ...GIT_ENV,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      REMOTE_USER: 'test',
      REMOTE_ADDR: '127.0.0.1',
      PATH_INFO: decodeURIComponent(u.pathname),
      QUERY_STRING: u.search.replace(/^\?/, ''),
      REQUEST_METHOD: req.method ?? 'GET',
      CONTENT_TYPE: String(req.headers['content-type'] ?? ''),
      GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
    }
    if (req.headers['content-length']) env.CONTENT_LENGTH = String(req.headers['content-length'])
    if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = String(req.headers['content-encoding'])
    const cgi = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'ignore'] })
    req.pipe(cgi.stdin)
    cgi.stdin.on('error', () => {})
    let head = Buffer.alloc(0)
    let headDone = false
    cgi.stdout.on('data', (d: Buffer) => {
      if (headDone) return void res.write(d)
      head = Buffer.concat([head, d])
      let sep = head.indexOf('\r\n\r\n')
      let sepLen = 4
      if (sep < 0) {
        sep = head.indexOf('\n\n')
        sepLen = 2
      }
      if (sep < 0) return
      headDone = true
      let status = 200
      for (const line of head.subarray(0, sep).toString('latin1').split(/\r?\n/)) {
        const i = line.indexOf(':')
        if (i < 0) continue
        const k = line.slice(0, i).trim()
        const v = line.slice(i + 1).trim()
        if (k.toLowerCase() === 'status') status = parseInt(v, 10)
        else res.setHeader(k, v)
      }
      res.writeHead(status)
      res.write(head.subarray(sep + sepLen))
    })
    cgi.on('close', () => {
      if (!headDone) res.writeHead(500)
      res.end()
    })
  })
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)))
  return {
    port,
    url: (name) => `http://127.0.0.1:${port}/${name}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** `git daemon` with push enabled, serving every repository under root. */
export async function startGitDaemon(root: string): Promise<GitServer & { pid: number }> {
  const port = await freePort()
  const child: ChildProcess = spawn(
    'git',
    ['daemon', '--reuseaddr', '--listen=127.0.0.1', `--port=${port}`, `--base-path=${root}`, '--export-all', '--enable=receive-pack', '--informative-errors', root],
    { env: { ...process.env, ...GIT_ENV }, stdio: 'ignore' },
  )
  await waitForPort(port)
  return { port, pid: child.pid!, url: (name) => `git://127.0.0.1:${port}/${name}`, stop: () => stopPid(child.pid) }
}
