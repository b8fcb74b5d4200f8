/**
 * s3rver (a fake S3 in Node) in-process on 127.0.0.1, for fast S3 tests. Needs
 * `NODE_OPTIONS=--openssl-legacy-provider` on Node 20 in the process that runs it (else a
 * truncated ListObjectsV2 answers 500); startS3rverChild sets it for a child process.
 */
import { spawn } from 'node:child_process'
import path from 'node:path'
import fs from 'node:fs'
import { waitForPort, stopPid } from './common.js'

export interface S3Server {
  kind: 's3rver' | 'ceph'
  endpoint: string
  port: number
  accessKeyId: string
  secretAccessKey: string
  region: string
  /** buckets that exist at start */
  buckets: string[]
  /** AWS_* variables for a client of this server */
  env(): Record<string, string>
  stop(): Promise<void>
}

export const S3RVER_KEY = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }

/**
 * Start s3rver as a child process (so the legacy OpenSSL provider applies to it only).
 *
 * @example
 * const s3 = await startS3rver(dir, ['bucket'])
 */
export async function startS3rver(dir: string, buckets: string[] = ['xp-test'], port = 0): Promise<S3Server & { pid: number }> {
  fs.mkdirSync(dir, { recursive: true })
  // port 0: the server binds a free port itself and prints it (no window for another
  // server to take a port we picked)
  const script = `
    const S3rver = require('s3rver');
    new S3rver({ address: '127.0.0.1', port: ${port}, directory: ${JSON.stringify(dir)}, silent: true,
      configureBuckets: ${JSON.stringify(buckets.map((name) => ({ name })))} }).run()
      .then((a) => console.log(a.port))
      .catch((e) => { console.error(e); process.exit(1) });`
  const root = path.resolve(import.meta.dirname, '..', '..')
  const child = spawn(process.execPath, ['-e', script], {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --openssl-legacy-provider`.trim() },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const bound = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d
      if (out.includes('\n')) resolve(Number(out.trim()))
    })
    child.on('exit', (code) => reject(new Error(`s3rver exited ${code}`)))
  })
  await waitForPort(bound)
  return s3Handle('s3rver', bound, S3RVER_KEY, buckets, child.pid!, () => stopPid(child.pid))
}

export function s3Handle<T extends object>(
  kind: S3Server['kind'],
  port: number,
  key: { accessKeyId: string; secretAccessKey: string },
  buckets: string[],
  pid: number,
  stop: () => Promise<void>,
  extra?: T,
): S3Server & { pid: number } & T {
  const endpoint = `http://127.0.0.1:${port}`
  return {
    kind,
    endpoint,
    port,
    pid,
    ...key,
    region: 'us-east-1',
    buckets,
    env: () => ({ AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey, AWS_REGION: 'us-east-1' }),
    stop,
    ...(extra as T),
  }
}
