/**
 * A real `xp ui` on 127.0.0.1 and a free port, for the API, MLflow and browser tests: its
 * address once it prints it, its stderr, and a stop that sends SIGTERM and waits for it.
 */
import type { ChildProcess } from 'node:child_process'
import type { TestRepo } from '../helpers.js'

export interface Ui {
  child: ChildProcess
  url: string
  port: number
  stderr: () => string
  stop: () => Promise<void>
}

/** `cwd`: where `xp ui` starts (default the repository root): a subfolder project's folder serves that project. */
export async function startUi(r: TestRepo, args: string[] = [], env: Record<string, string> = {}, cwd?: string): Promise<Ui> {
  const child = r.spawnXp(['ui', '--port', '0', ...args], { env, cwd })
  let out = ''
  let err = ''
  child.stderr!.on('data', (d) => (err += d))
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d
      const m = /http:\/\/\S+\//.exec(out)
      if (m) resolve(m[0].replace(/\/$/, ''))
    })
    child.on('exit', (code) => reject(new Error(`xp ui exited ${code}: ${err}`)))
  })
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once('exit', () => resolve())
      child.kill('SIGTERM')
    })
  return { child, url, port: Number(new URL(url).port), stderr: () => err, stop }
}
