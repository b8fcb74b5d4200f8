/**
 * Ceph radosgw on 127.0.0.1: one monitor, one memstore OSD, the gateway on beast, auth
 * off, every messenger mode `crc` (else the gateway hangs at authentication). About 15 s
 * to start and ~800 MB of memory: start it once per test file, in beforeAll.
 *
 * @example
 * const ceph = await startCeph(dir, ['xp'])   // null when the Debian packages are missing
 */
import { spawn, spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { S3Client, CreateBucketCommand } from '@aws-sdk/client-s3'
import { freePort, waitForPort, stopPid, readPidFile } from './common.js'
import { s3Handle, type S3Server } from './s3rver.js'

export function cephAvailable(): boolean {
  return ['/usr/bin/ceph-mon', '/usr/bin/ceph-osd', '/usr/bin/radosgw', '/usr/bin/ceph'].every((f) => fs.existsSync(f))
}

function run(cmd: string, args: string[], timeoutMs = 60_000): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`)
  return r.stdout
}

export async function startCeph(dir: string, buckets: string[] = ['xp-test']): Promise<(S3Server & { pid: number }) | null> {
  if (!cephAvailable()) return null
  fs.mkdirSync(dir, { recursive: true })
  const fsid = randomUUID()
  const rgwPort = await freePort()
  const monPort = await freePort()
  const conf = path.join(dir, 'ceph.conf')
  const keyring = path.join(dir, 'keyring')
  const p = (...s: string[]) => path.join(dir, ...s)
  fs.writeFileSync(
    conf,
    `[global]
fsid = ${fsid}
mon host = v2:127.0.0.1:${monPort}
public addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
ms mon client mode = crc
ms client mode = crc
ms mon cluster mode = crc
ms mon service mode = crc
ms cluster mode = crc
ms service mode = crc
osd objectstore = memstore
memstore device bytes = 4294967296
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd crush chooseleaf type = 0
osd pool default pg autoscale mode = off
osd pool default pg num = 8
osd pool default pgp num = 8
mon max pg per osd = 1000
mon warn on pool no redundancy = false
run dir = ${p('run')}
log file = ${p('log', '$name.log')}
pid file = ${p('run', '$name.pid')}
admin socket = ${p('run', '$name.asok')}
keyring = ${keyring}
mon data = ${p('mon', '$cluster-$id')}
osd data = ${p('osd', '$cluster-$id')}
osd max object name len = 460
osd max object namespace len = 64

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort}
rgw data = ${p('rgw')}
rgw dns name = 127.0.0.1
`,
  )
  for (const d of ['run', 'log', 'mon', 'osd', 'rgw']) fs.mkdirSync(p(d), { recursive: true })
  const pids: string[] = []
  const stopAll = async () => {
    for (const name of ['client.rgw.a', ...pids].reverse()) await stopPid(readPidFile(p('run', `${name}.pid`)), 5000)
  }
  try {
    run('ceph-authtool', ['--create-keyring', keyring, '-n', 'mon.', '--gen-key', '--cap', 'mon', 'allow *'])
    run('monmaptool', ['--create', '--clobber', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, p('monmap')])
    run('ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', p('monmap'), '--keyring', keyring])
    run('ceph-mon', ['-c', conf, '-i', 'a'])
    pids.push('mon.a')
    const osdUuid = randomUUID()
    const id = run('ceph', ['-c', conf, 'osd', 'new', osdUuid]).trim()
    fs.mkdirSync(p('osd', `ceph-${id}`), { recursive: true })
    run('ceph-osd', ['-c', conf, '-i', id, '--mkfs', '--osd-uuid', osdUuid])
    run('ceph-osd', ['-c', conf, '-i', id])
    pids.push(`osd.${id}`)
    const until = Date.now() + 60_000
    while (!/1 up/.test(run('ceph', ['-c', conf, 'osd', 'stat']))) {
      if (Date.now() > until) throw new Error('the Ceph OSD did not come up in 60 s')
      await new Promise((r) => setTimeout(r, 300))
    }
    const rgw = spawn('radosgw', ['-c', conf, '-n', 'client.rgw.a'], { stdio: 'ignore' })
    await new Promise<void>((resolve) => rgw.on('exit', () => resolve()))
    await waitForPort(rgwPort, 90_000)
    const key = { accessKeyId: 'XPTESTACCESSKEY', secretAccessKey: 'xptestsecretkey0123456789' }
    run('radosgw-admin', [
      '-c',
      conf,
      'user',
      'create',
      '--uid=xp',
      '--display-name=xp',
      `--access-key=${key.accessKeyId}`,
      `--secret-key=${key.secretAccessKey}`,
    ])
    const client = new S3Client({ endpoint: `http://127.0.0.1:${rgwPort}`, region: 'us-east-1', forcePathStyle: true, credentials: key })
    for (const b of buckets) {
      for (let i = 0; ; i++) {
        try {
          await client.send(new CreateBucketCommand({ Bucket: b }))
          break
        } catch (e) {
          if (i > 40) throw e
          await new Promise((r) => setTimeout(r, 500))
        }
      }
    }
    client.destroy()
    const pid = readPidFile(p('run', 'client.rgw.a.pid')) ?? 0
    return s3Handle('ceph', rgwPort, key, buckets, pid, stopAll)
  } catch (e) {
    await stopAll()
    throw e
  }
}
