/**
 * rclone as an independent S3 client, configured by environment alone (remote `x:`), to
 * read what xp wrote and to compare speed in benchmarks.
 *
 * @example
 * rclone(s3, ['lsjson', '-R', 'x:xp/proj'])
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import type { S3Server } from './s3rver.js'

export function rcloneAvailable(): boolean {
  return fs.existsSync('/usr/bin/rclone')
}

export function rcloneEnv(s3: Pick<S3Server, 'endpoint' | 'accessKeyId' | 'secretAccessKey'>): Record<string, string> {
  const env: Record<string, string> = { ...(process.env as Record<string, string>) }
  delete env.AWS_CA_BUNDLE
  return {
    ...env,
    RCLONE_CONFIG: '/dev/null',
    RCLONE_CONFIG_X_TYPE: 's3',
    RCLONE_CONFIG_X_PROVIDER: 'Other',
    RCLONE_CONFIG_X_ENDPOINT: s3.endpoint,
    RCLONE_CONFIG_X_ACCESS_KEY_ID: s3.accessKeyId,
    RCLONE_CONFIG_X_SECRET_ACCESS_KEY: s3.secretAccessKey,
    RCLONE_CONFIG_X_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_X_REGION: 'us-east-1',
  }
}

/** Run rclone against the server; returns stdout as a Buffer, throws on failure. */
export function rclone(s3: Pick<S3Server, 'endpoint' | 'accessKeyId' | 'secretAccessKey'>, args: string[]): Buffer {
  const r = spawnSync('rclone', args, { env: rcloneEnv(s3), maxBuffer: 512 * 1024 * 1024 })
  if (r.status !== 0) throw new Error(`rclone ${args.join(' ')} failed: ${r.stderr}`)
  return r.stdout
}
