// The S3 checks shared by the s3rver and Ceph test files: a real server, the built CLI,
// and rclone reading back what xp wrote.
import { it, expect } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { TestRepo, errorCode, XP } from './helpers.js'
import { ok, cloneOf, withTrackedData, pointerOid } from './remotes-helpers.js'
import { makeBare } from './servers/git.js'
import type { S3Server } from './servers/s3rver.js'
import { rclone, rcloneAvailable } from './servers/rclone.js'

export const PART = 5 * 1024 * 1024

/** A project with an S3 data remote and a pushed main branch; env holds the AWS variables. */
export function s3Project(s3: S3Server, root: string, name: string, bucketUrl = `s3://${s3.buckets[0]}/${name}`) {
  const env = { ...s3.env(), XP_S3_PART_SIZE: String(PART) }
  const a = new TestRepo({ files: { 'xp.yaml': '# data goes to S3\n', '.gitignore': '.xp/\n' } })
  a.env = { ...a.env, ...env }
  const bare = makeBare(root, `${name}.git`)
  const track = (files: Record<string, string | Buffer>, add: string[]) =>
    withTrackedData(a, { origin: bare, remoteArgs: ['s3', bucketUrl, '--endpoint', s3.endpoint], files, add })
  return { a, bare, env, track }
}

export function s3Suite(get: () => { s3: S3Server; root: string }) {
  it('pushes data (one object multipart) and runs; rclone reads the same bytes; a clone pulls them', () => {
    const { s3, root } = get()
    const { a, bare, env, track } = s3Project(s3, root, `rt-${s3.kind}`)
    const big = randomBytes(PART * 2 + 12345)
    const files: Record<string, string | Buffer> = { 'data/big.bin': big }
    for (let i = 0; i < 20; i++) files[`data/small/${i}.txt`] = `file ${i}\n`
    track(files, ['data'])
    const run = JSON.parse(ok(a.xp(['run', '--json', '--', 'true'])).stdout)
    const pushed = JSON.parse(ok(a.xp(['push', '--json', '-j', '4'])).stdout)
    expect(pushed.runs.pushed).toBe(1)
    expect(pushed.data.transferred).toBe(22) // 21 files and the manifest
    expect(pushed.data.bytes).toBeGreaterThan(big.length)
    // nothing new: nothing moves
    expect(JSON.parse(ok(a.xp(['push', '--json'])).stdout).data.transferred).toBe(0)

    if (rcloneAvailable()) {
      const prefix = `x:${s3.buckets[0]}/rt-${s3.kind}`
      const listed = JSON.parse(rclone(s3, ['lsjson', '-R', '--files-only', prefix]).toString()) as Array<{ Path: string; Size: number }>
      expect(listed).toHaveLength(22)
      const bigEntry = listed.find((e) => e.Size === big.length)!
      const bytes = rclone(s3, ['cat', `${prefix}/${bigEntry.Path}`])
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(createHash('sha256').update(big).digest('hex'))
      const smallOnes = listed.filter((e) => e.Size === 'file 7\n'.length)
      expect(smallOnes.map((e) => rclone(s3, ['cat', `${prefix}/${e.Path}`]).toString())).toContain('file 7\n')
    }

    const b = cloneOf(bare, env)
    const pulled = JSON.parse(ok(b.xp(['pull', '--json'])).stdout)
    expect(pulled.runs.fetched).toBe(1)
    expect(pulled.data.transferred).toBe(22)
    expect(fs.readFileSync(b.path('data/big.bin')).equals(big)).toBe(true)
    expect(b.read('data/small/7.txt')).toBe('file 7\n')
    expect(run.id).toBeTruthy()

    // checkout fetches what the cache lacks from the remote, in a process of its own as a
    // user runs it: its output is xp's alone, not the AWS SDK's notice that its 2027
    // releases will need Node 22 (nothing an xp user can act on)
    const c = cloneOf(bare, env)
    const checkout = spawnSync(process.execPath, [XP, 'checkout'], { cwd: c.dir, env: c.env, encoding: 'utf8' })
    expect(checkout.status, checkout.stderr).toBe(0)
    expect(c.read('data/small/7.txt')).toBe('file 7\n')
    expect(checkout.stderr).not.toMatch(/Warning|\(node:\d+\)/)
  })

  it('wrong credentials and a missing bucket are one-line errors with codes, exit 4', () => {
    const { s3, root } = get()
    const { a, track } = s3Project(s3, root, `auth-${s3.kind}`)
    track({ 'w.bin': 'weights\n' }, ['w.bin'])
    // an unknown key id: s3rver checks key ids, not v4 signatures
    const bad = a.xp(['push', '--json'], { env: { AWS_SECRET_ACCESS_KEY: 'wrong-secret', AWS_ACCESS_KEY_ID: 'NOSUCHKEY' } })
    expect(bad.code).toBe(4)
    expect(errorCode(bad)).toBe('XP_REMOTE_AUTH')
    expect(bad.stderr.split('\n').filter((l) => l.startsWith('xp: error'))).toHaveLength(1)
    ok(a.xp(['remote', 'add', 'gone', `s3://no-such-bucket-${s3.kind}/x`, '--endpoint', s3.endpoint]))
    const gone = a.xp(['push', '-r', 'gone'])
    expect(gone.code).toBe(4)
    expect(errorCode(gone)).toBe('XP_REMOTE_NO_BUCKET')
  })

  it('a corrupt cache object is never pushed, small or multipart: named, absent from S3; added again, it goes', () => {
    const { s3, root } = get()
    const { a, env, track } = s3Project(s3, root, `badcache-${s3.kind}`)
    const big = randomBytes(PART * 2 + 777) // multipart
    track({ 'w.bin': 'the true weights\n', 'big.bin': big }, ['w.bin', 'big.bin'])
    const oids = [pointerOid(a, 'w.bin.xp'), pointerOid(a, 'big.bin.xp')]
    for (const oid of oids) {
      // one bit flipped in the last byte, size kept
      const f = path.join(a.dir, '.xp', 'cache', oid.slice(0, 2), oid.slice(2))
      fs.chmodSync(f, 0o644)
      const bytes = fs.readFileSync(f)
      bytes[bytes.length - 1]! ^= 1
      fs.writeFileSync(f, bytes)
    }
    const res = a.xp(['push', '-j', '4'])
    expect(res.code).not.toBe(0)
    expect(errorCode(res)).toBe('XP_CACHE_CORRUPT')
    expect(oids.some((o) => res.stderr.includes(o))).toBe(true)
    const keys = (oid: string) => `${oid.slice(0, 2)}/${oid.slice(2)}`
    if (rcloneAvailable()) {
      const listed = JSON.parse(rclone(s3, ['lsjson', '-R', '--files-only', `x:${s3.buckets[0]}/badcache-${s3.kind}`]).toString()) as Array<{ Path: string }>
      for (const oid of oids) expect(listed.map((e) => e.Path)).not.toContain(keys(oid))
    }
    // the working copies are intact: added again, the objects are stored and pushed
    ok(a.xp(['add', 'w.bin', 'big.bin']))
    expect(JSON.parse(ok(a.xp(['push', '--json', '-j', '4'])).stdout).data.transferred).toBeGreaterThanOrEqual(2)
    if (rcloneAvailable()) {
      const bytes = rclone(s3, ['cat', `x:${s3.buckets[0]}/badcache-${s3.kind}/${keys(oids[1]!)}`])
      expect(bytes.equals(big)).toBe(true)
    }
    void env
  })

  it('a copy on S3 of the wrong size (truncated or replaced) is sent again by the next push, not counted there', () => {
    if (!rcloneAvailable()) return
    const { s3, root } = get()
    const { a, track } = s3Project(s3, root, `damaged-${s3.kind}`)
    track({ 'w.bin': 'the true weights\n', 'x.bin': 'another file\n' }, ['w.bin', 'x.bin'])
    ok(a.xp(['push']))
    const oid = pointerOid(a, 'w.bin.xp')
    const key = `x:${s3.buckets[0]}/damaged-${s3.kind}/${oid.slice(0, 2)}/${oid.slice(2)}`
    const cut = path.join(a.dir, 'cut')
    fs.writeFileSync(cut, 'the true')
    rclone(s3, ['copyto', cut, key])
    const again = JSON.parse(ok(a.xp(['push', '--json'])).stdout)
    expect(again.data.transferred).toBe(1)
    expect(rclone(s3, ['cat', key]).toString()).toBe('the true weights\n')
    // and a push after it has nothing to do
    expect(JSON.parse(ok(a.xp(['push', '--json'])).stdout).data.transferred).toBe(0)
  })

  it('a corrupt object on S3 is caught at pull, named, and kept out of the cache', () => {
    const { s3, root } = get()
    const { a, bare, env, track } = s3Project(s3, root, `corrupt-${s3.kind}`)
    track({ 'w.bin': 'the true weights\n' }, ['w.bin'])
    ok(a.xp(['push']))
    const oid = pointerOid(a, 'w.bin.xp')
    const tmp = path.join(a.dir, 'evil')
    fs.writeFileSync(tmp, 'tampered\n')
    if (rcloneAvailable()) rclone(s3, ['copyto', tmp, `x:${s3.buckets[0]}/corrupt-${s3.kind}/${oid.slice(0, 2)}/${oid.slice(2)}`])
    else return
    const b = cloneOf(bare, env)
    const res = b.xp(['pull'])
    expect(res.code).toBe(4)
    expect(errorCode(res)).toBe('XP_REMOTE_CORRUPT')
    expect(res.stderr).toContain(oid)
    expect(fs.existsSync(path.join(b.dir, '.xp', 'cache', oid.slice(0, 2), oid.slice(2)))).toBe(false)
  })
}
