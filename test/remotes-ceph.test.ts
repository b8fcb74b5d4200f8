// S3 data remotes against Ceph radosgw (one mon, one memstore OSD): the strict server.
// Started once for this file (about 15 s). npm test's pretest installs the Debian packages;
// a machine without them fails here, loudly, rather than passing with nothing tested.
import { describe, beforeAll, afterAll } from 'vitest'
import path from 'node:path'
import { tmpDir, cleanupTmp } from './helpers.js'
import { startCeph, cephAvailable } from './servers/ceph.js'
import type { S3Server } from './servers/s3rver.js'
import { s3Suite } from './remotes-s3-suite.js'

let s3: (S3Server & { pid: number }) | null = null
let root: string

beforeAll(async () => {
  if (!cephAvailable()) throw new Error('Ceph is missing: install the Debian packages radosgw ceph-mon ceph-osd (npm test does when it runs as root)')
  root = tmpDir('xp-remotes-ceph-')
  s3 = await startCeph(path.join(root, 'ceph'), ['xp-test'])
}, 240_000)

afterAll(async () => {
  await s3?.stop()
  cleanupTmp()
})

describe('S3 through Ceph radosgw', () => {
  s3Suite(() => ({ s3: s3!, root }))
})
