// Pure parts of remotes and sync: ref selection, porcelain parsing, the listing-or-checks
// choice, URL and secret checks, progress lines.
import { describe, it, expect } from 'vitest'
import { isRegistryTag, parseLocalRefs, parseLsRemote, changedRefs, parsePorcelain, isRetryableRejection, chunkArgs } from '../src/core/sync/refs.js'
import { chooseExistenceCheck, objectKey, oidFromKey, pool } from '../src/remotes/types.js'
import { parseS3Url } from '../src/remotes/s3.js'
import { encodeKey, LeanSigner, parseListing } from '../src/remotes/s3-put.js'
import { SignatureV4 } from '@smithy/signature-v4'
import { createHash, createHmac } from 'node:crypto'
import { remoteKind, defaultRemoteName, remoteSettings } from '../src/remotes/index.js'
import { checkNoSecret } from '../src/core/sync/remote-config.js'
import { progressLine } from '../src/cli/progress.js'

const OID = '0123456789abcdef0123456789abcdef'

describe('registry tags', () => {
  it('accepts the GTO forms and nothing else', () => {
    for (const t of [
      'churn@v1.2.0',
      'churn@v1.0.0-rc.1',
      'churn@v1.0.0!',
      'churn@deprecated',
      'churn#prod#3',
      'churn#prod!#4',
      'models/churn@v0.1.0',
      'svc=churn@v0.0.1',
      'path/to=churn#prod#2',
      'churn@deprecated#5',
      'churn#prod',
    ])
      expect(isRegistryTag(t), t).toBe(true)
    // `churn#prod` (no counter) is GTO's too (its tag.py makes the counter optional), and the registry reads it
    for (const t of ['v1.0', 'churn@1.0.0', 'release-1', '-x@v1.0.0']) expect(isRegistryTag(t), t).toBe(false)
  })
})

describe('ref plumbing', () => {
  const run = 'refs/xp/runs/01m84pc7qf9ph9qq51hr'
  it('keeps runs, notes and annotated registry tags from for-each-ref', () => {
    const text = [
      `a commit  ${run}`,
      'b commit  refs/xp/runs/not-an-id',
      'c commit  refs/notes/xp',
      'd tag e refs/tags/churn@v1.0.0',
      'f commit  refs/tags/churn@v2.0.0',
      'g tag h refs/tags/v1.0',
    ].join('\n')
    expect(parseLocalRefs(text).map((e) => e.ref)).toEqual([run, 'refs/notes/xp', 'refs/tags/churn@v1.0.0'])
    expect(parseLocalRefs(text)[2].peeled).toBe('e')
  })
  it('reads ls-remote with peeled tags and finds what differs', () => {
    const theirs = parseLsRemote(`a\t${run}\nd\trefs/tags/churn@v1.0.0\ne\trefs/tags/churn@v1.0.0^{}\n`)
    expect(theirs.get('refs/tags/churn@v1.0.0')?.peeled).toBe('e')
    expect(
      changedRefs(
        [
          { ref: run, oid: 'a' },
          { ref: 'refs/notes/xp', oid: 'c' },
        ],
        theirs,
      ).map((e) => e.ref),
    ).toEqual(['refs/notes/xp'])
  })
  it('parses git push --porcelain and tells retryable rejections', () => {
    const s = parsePorcelain(
      `To ../r.git\n*\t${run}:${run}\t[new reference]\n!\trefs/notes/xp:refs/notes/xp\t[rejected] (fetch first)\n=\ta:b\t[up to date]\nDone\n`,
    )
    expect(s.map((x) => x.flag)).toEqual(['*', '!', '='])
    expect(s[1].ref).toBe('refs/notes/xp')
    expect(isRetryableRejection(s[1])).toBe(true)
    expect(isRetryableRejection({ ref: 'x', flag: '!', summary: '[remote rejected] (hook declined)' })).toBe(false)
  })
  it('chunks long refspec lists under the argument limit', () => {
    const items = Array.from({ length: 1000 }, (_, i) => `refs/xp/runs/${String(i).padStart(20, '0')}`)
    const chunks = chunkArgs(items, 10_000)
    expect(chunks.flat()).toEqual(items)
    expect(Math.max(...chunks.map((c) => c.join(' ').length))).toBeLessThanOrEqual(10_000)
  })
})

describe('data remote helpers', () => {
  it('uses the cache layout for keys', () => {
    expect(objectKey(OID)).toBe('01/23456789abcdef0123456789abcdef')
    expect(objectKey(OID + '.dir')).toBe('01/23456789abcdef0123456789abcdef.dir')
    expect(oidFromKey('prefix/01/23456789abcdef0123456789abcdef.dir')).toBe(OID + '.dir')
    expect(oidFromKey('01/.23456789abcdef0123456789abcdef.tmp-1')).toBeNull()
  })
  it('lists when many objects move and checks when few do', () => {
    expect(chooseExistenceCheck(10, 1_000_000)).toBe('check')
    expect(chooseExistenceCheck(5000, 2000)).toBe('list')
    expect(chooseExistenceCheck(2001, 0)).toBe('list')
    expect(chooseExistenceCheck(100, 0)).toBe('check')
    expect(chooseExistenceCheck(300_000, 10_000_000)).toBe('list')
  })
  it('parses S3 URLs and remote kinds', () => {
    expect(parseS3Url('s3://bucket/a/b/')).toEqual({ bucket: 'bucket', prefix: 'a/b' })
    expect(parseS3Url('s3://bucket')).toEqual({ bucket: 'bucket', prefix: '' })
    expect(() => parseS3Url('s3:///x')).toThrow()
    expect(encodeKey("team data/it's (1)/ab/cd.dir")).toBe('team%20data/it%27s%20%281%29/ab/cd.dir')
    expect(remoteKind('/mnt/x')).toBe('fs')
    expect(remoteKind('file:///mnt/x')).toBe('fs')
    expect(remoteKind('s3://b/p')).toBe('s3')
    expect(() => remoteKind('gs://b/p')).toThrow(/unsupported/)
  })
  it("signs requests as the SDK's SigV4 signer does (the lean PutObject and listing)", async () => {
    class Sha256 {
      private h
      constructor(secret?: unknown) {
        this.h = secret ? createHmac('sha256', secret as Uint8Array) : createHash('sha256')
      }
      update(d: unknown) {
        this.h.update(d as Uint8Array)
      }
      async digest() {
        return new Uint8Array(this.h.digest())
      }
    }
    const now = new Date('2026-11-30T22:45:07.123Z')
    const cases: Array<{ method: string; path: string; query: Record<string, string>; headers: Record<string, string> }> = [
      {
        method: 'PUT',
        path: '/bucket/team%20data/ab/cdef0123456789abcdef0123456789',
        query: {},
        headers: { 'content-length': '16384', 'content-type': 'application/octet-stream', 'content-md5': 'XUFAKrxLKna5cZ2REBfFkg==' },
      },
      {
        method: 'GET',
        path: '/bucket',
        query: { 'list-type': '2', 'max-keys': '1000', prefix: "team data/it's (1)/", 'continuation-token': 'a+b/c=' },
        headers: {},
      },
    ]
    for (const creds of [
      { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
      { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token/with+chars=' },
    ])
      for (const c of cases) {
        const mine = new LeanSigner('eu-west-3').sign(c.method, creds, '127.0.0.1:7480', c.path, c.query, c.headers, now)
        const sdk = new SignatureV4({ credentials: creds, region: 'eu-west-3', service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false })
        const theirs = (await sdk.sign(
          {
            method: c.method,
            protocol: 'http:',
            hostname: '127.0.0.1',
            port: 7480,
            path: c.path,
            query: c.query,
            headers: { host: '127.0.0.1:7480', ...c.headers, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
          } as never,
          { signingDate: now },
        )) as unknown as { headers: Record<string, string> }
        expect(mine.authorization).toBe(theirs.headers.authorization)
        expect(mine['x-amz-date']).toBe(theirs.headers['x-amz-date'])
      }
  })
  it('reads a ListObjectsV2 answer without an XML parser', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=&amp;x</NextContinuationToken><Contents><Key>p/ab/cd&amp;e</Key><LastModified>2026-11-30T22:00:00.000Z</LastModified><ETag>&quot;x&quot;</ETag><Size>3</Size></Contents><Contents><Key>p/01/23&#x41;&#66;</Key><Size>4</Size></Contents><Contents><Size>9</Size><Key>p/ff/00</Key></Contents><Contents><Key>p/ee/00</Key></Contents></ListBucketResult>`
    expect(parseListing(xml)).toEqual({
      keys: ['p/ab/cd&e', 'p/01/23AB', 'p/ff/00', 'p/ee/00'],
      // sizes in any order within an entry; none given is -1
      sizes: [3, 4, 9, -1],
      truncated: true,
      token: '1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=&x',
    })
    expect(parseListing('<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>')).toEqual({
      keys: [],
      sizes: [],
      truncated: false,
      token: undefined,
    })
  })
  it('picks the default remote', () => {
    expect(defaultRemoteName({ remotes: { a: { url: '/a' } } })).toBe('a')
    expect(defaultRemoteName({ remotes: { a: { url: '/a' }, b: { url: '/b' } } })).toBeNull()
    expect(defaultRemoteName({ remote: 'b', remotes: { a: { url: '/a' }, b: { url: '/b' } } })).toBe('b')
    expect(remoteSettings({ remotes: {} }, '/some/dir').settings.url).toBe('/some/dir')
    expect(() => remoteSettings({ remotes: {} }, 'nope')).toThrow(/no data remote/)
  })
  it('refuses URLs that carry secrets', () => {
    expect(() => checkNoSecret('https://user:pw@host/x')).toThrow()
    expect(() => checkNoSecret('https://host/x?X-Amz-Signature=abc')).toThrow()
    expect(() => checkNoSecret('s3://bucket/prefix')).not.toThrow()
  })
  it('runs a bounded pool and surfaces the first error', async () => {
    let active = 0
    let peak = 0
    await pool(
      Array.from({ length: 20 }, (_, i) => i),
      3,
      async () => {
        peak = Math.max(peak, ++active)
        await new Promise((r) => setTimeout(r, 2))
        active--
      },
    )
    expect(peak).toBe(3)
    await expect(
      pool([1, 2, 3], 2, async (i) => {
        if (i === 2) throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
  })
  it('draws a progress line with bytes, rate and ETA', () => {
    const line = progressLine({ phase: 'uploading', done: 1, total: 4, bytes: 1024 * 1024, totalBytes: 4 * 1024 * 1024 }, 1)
    expect(line).toBe('uploading 1/4, 1.0 MiB/4.0 MiB, 1.0 MiB/s ETA 0:03')
  })
})

describe('reachable data of a run record', () => {
  it('reads the oids of deps and outs from their lines alone', async () => {
    const { recordDataOids } = await import('../src/core/cache/reachable.js')
    const msg =
      'xp: a succeeded: deps: {}\n\nxp: 1\nid: "x"\ndeps: {"data": {"oid": "aa.dir", "size": 1}}\nouts: {"m.bin": {"oid": "bb", "size": 2}}\nenv: {}\n'
    expect(recordDataOids(msg)).toEqual(['aa.dir', 'bb'])
    expect(recordDataOids('plain commit\n\ndeps: {"x": {"oid": "cc"}}\n')).toEqual([])
  })
})
