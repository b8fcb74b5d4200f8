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
 * Smart HTTP: `git http-backend` as CGI behind a small Node server (git-http-server.mjs),
 * in its own process so that tests may call the CLI synchronously.
 */
export async function startGitHttp(root: string): Promise<GitServer & { pid: number }> {
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'git-http-server.mjs'), root], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d
      if (out.includes('\n')) resolve(Number(out.trim()))
    })
    child.on('exit', (code) => reject(new Error(`git http server exited ${code}`)))
  })
  return { port, pid: child.pid!, url: (name) => `http://127.0.0.1:${port}/${name}`, stop: () => stopPid(child.pid) }
}

/** `git daemon` with push enabled, serving every repository under root. */
export async function startGitDaemon(root: string): Promise<GitServer & { pid: number }> {
  const port = await freePort()
  const child: ChildProcess = spawn(
    'git',
    [
      'daemon',
      '--reuseaddr',
      '--listen=127.0.0.1',
      `--port=${port}`,
      `--base-path=${root}`,
      '--export-all',
      '--enable=receive-pack',
      '--informative-errors',
      root,
    ],
    { env: { ...process.env, ...GIT_ENV }, stdio: 'ignore' },
  )
  await waitForPort(port)
  return { port, pid: child.pid!, url: (name) => `git://127.0.0.1:${port}/${name}`, stop: () => stopPid(child.pid) }
}
