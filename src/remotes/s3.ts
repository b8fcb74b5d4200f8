/**
 * S3 and S3-compatible stores (AWS, Ceph radosgw, MinIO, R2) through the AWS SDK v3.
 *
 * Credentials and region come from the standard AWS chain (AWS_PROFILE, AWS_ACCESS_KEY_ID,
 * ~/.aws/...); the endpoint from the remote's `endpoint`, else AWS_ENDPOINT_URL_S3 or
 * AWS_ENDPOINT_URL. A custom endpoint gets path-style addressing. Checksums are
 * `WHEN_REQUIRED`: with the SDK's defaults a streamed upload is sent aws-chunked, which
 * some servers store with the chunk framing in the object, silently.
 *
 * Uploads stream the file: one PutObject up to MULTIPART_THRESHOLD, else a multipart
 * upload whose parts are ranges of the file read straight from disk (memory stays at a few
 * stream buffers whatever the size). Every request is retried with backoff on transient
 * failures (network resets, 5xx, throttling); the SDK's own retries are off because a
 * stream body cannot be replayed.
 */
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import { pipeline } from 'node:stream/promises'
import {
  S3Client,
  HeadObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  ListObjectsV2Command,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  CompleteMultipartUploadCommand,
  AbortMultipartUploadCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3'
import { XpError } from '../core/errors.js'
import { counter } from './fs.js'
import { LeanS3, type ListingPage } from './s3-put.js'
import { objectKey, oidFromKey, chooseExistenceCheck, PREFIXES, pool, type DataRemote, type OpOptions } from './types.js'

export const MULTIPART_THRESHOLD = 64 * 1024 * 1024
export const PART_SIZE = 16 * 1024 * 1024
/** objects up to this size are uploaded from one buffer */
export const SMALL_BODY = 1024 * 1024
const PART_JOBS = 4
const RETRIES = 4

export interface S3RemoteOptions {
  name: string
  url: string
  endpoint?: string
  region?: string
  profile?: string
  env: Record<string, string | undefined>
  /** sockets to keep open (the transfer's -j) */
  jobs?: number
  /** multipart part size (and threshold), bytes; default PART_SIZE and MULTIPART_THRESHOLD */
  partSize?: number
}

/** Split `s3://bucket/some/prefix` into bucket and prefix (no leading or trailing `/`). */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url)
  if (!m?.[1]) throw new XpError('XP_BAD_REMOTE_URL', `not an S3 URL: ${url}`, { hint: 'write it as s3://BUCKET/PREFIX' })
  return { bucket: m[1], prefix: (m[2] ?? '').replace(/\/+$/, '') }
}

export class S3Remote implements DataRemote {
  readonly name: string
  readonly url: string
  readonly bucket: string
  readonly prefix: string
  readonly endpoint?: string
  readonly partSize: number
  readonly threshold: number
  private client: S3Client
  private lean?: LeanS3
  /** sizes of stored copies seen by listings and existence checks (for `sizes`) */
  private seenSizes = new Map<string, number>()

  constructor(opts: S3RemoteOptions) {
    this.name = opts.name
    this.url = opts.url
    const { bucket, prefix } = parseS3Url(opts.url)
    this.bucket = bucket
    this.prefix = prefix
    const env = opts.env
    // XP_S3_PART_SIZE tunes multipart (tests use small parts; S3 wants 5 MiB at least)
    const tuned = Number(env.XP_S3_PART_SIZE) || opts.partSize
    this.partSize = tuned ? Math.max(5 * 1024 * 1024, tuned) : PART_SIZE
    this.threshold = tuned ? this.partSize : MULTIPART_THRESHOLD
    this.endpoint = opts.endpoint || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined
    const sockets = Math.max(16, (opts.jobs ?? 8) * PART_JOBS)
    const agents = { http: new http.Agent({ keepAlive: true, maxSockets: sockets }), https: new https.Agent({ keepAlive: true, maxSockets: sockets }) }
    const config: S3ClientConfig = {
      region: opts.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
      endpoint: this.endpoint,
      forcePathStyle: Boolean(this.endpoint),
      maxAttempts: 1,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        httpAgent: agents.http,
        httpsAgent: agents.https,
        connectionTimeout: 10_000,
        requestTimeout: 120_000,
      },
    }
    if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY)
      config.credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN || undefined }
    else if (opts.profile || env.AWS_PROFILE) (config as { profile?: string }).profile = opts.profile || env.AWS_PROFILE
    this.client = new S3Client(config)
    // custom endpoints are path-style: small uploads and listings take the lean path (see s3-put.ts)
    if (this.endpoint && env.XP_S3_LEAN !== '0') this.lean = new LeanS3(this.endpoint, String(config.region), this.client.config.credentials, agents)
  }

  private key(oid: string) {
    return this.prefix ? `${this.prefix}/${objectKey(oid)}` : objectKey(oid)
  }

  private where() {
    return `s3://${this.bucket}/${this.prefix}${this.endpoint ? ` at ${this.endpoint}` : ''}`
  }

  /** Send a command with retries on transient failures; errors become XpErrors. */
  // biome-ignore lint/suspicious/noExplicitAny: the SDK's commands share no useful common type
  private send<T>(make: () => any, opts: OpOptions = {}, what = ''): Promise<T> {
    return this.retrying(() => this.client.send(make(), { abortSignal: opts.signal as never }) as Promise<T>, opts, what)
  }

  /** Run one request with retries on transient failures; errors become XpErrors. */
  private async retrying<T>(fn: () => Promise<T>, opts: OpOptions, what: string): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn()
      } catch (e) {
        if (opts.signal?.aborted) throw new XpError('XP_INTERRUPTED', 'interrupted', {})
        if (attempt + 1 >= RETRIES || !isTransient(e)) throw this.toXpError(e, what)
        await sleep(150 * 3 ** attempt * (0.5 + Math.random()))
      }
    }
  }

  toXpError(e: unknown, what: string): XpError {
    if (e instanceof XpError) return e
    const err = e as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } }
    const name = err?.name ?? ''
    const status = err?.$metadata?.httpStatusCode
    const where = this.where()
    const base = { cause: e, data: { remote: this.name, s3code: name, status } }
    if (name === 'NoSuchBucket')
      return new XpError('XP_REMOTE_NO_BUCKET', `data remote "${this.name}": bucket "${this.bucket}" does not exist (${where})`, {
        ...base,
        hint: 'create the bucket, or fix the URL with `xp remote add --force`',
      })
    if (
      ['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'Forbidden', 'InvalidToken', 'ExpiredToken', 'CredentialsProviderError'].includes(name) ||
      status === 403 ||
      /credential/i.test(err?.message ?? '')
    )
      return new XpError('XP_REMOTE_AUTH', `data remote "${this.name}": access denied by ${where} (${name || status})`, {
        ...base,
        hint: 'check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE',
      })
    const code = err?.code ?? (e as { cause?: { code?: string } })?.cause?.code ?? ''
    if (['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN'].includes(code) || name === 'TimeoutError')
      return new XpError('XP_REMOTE_UNREACHABLE', `data remote "${this.name}": cannot reach ${where} (${code || name})`, {
        ...base,
        hint: 'check the endpoint and your network, then run the command again',
      })
    return new XpError(
      'XP_REMOTE_FAILED',
      `data remote "${this.name}": ${what ? what + ': ' : ''}${name || code || 'error'}${status ? ` (HTTP ${status})` : ''}: ${err?.message ?? String(e)}`.slice(
        0,
        400,
      ),
      base,
    )
  }

  private async listPrefix(p: string, opts: OpOptions & { max?: number } = {}): Promise<{ oids: string[]; truncated: boolean }> {
    const prefix = this.prefix ? `${this.prefix}/${p}` : p
    const oids: string[] = []
    let token: string | undefined
    for (;;) {
      const page = await this.listPage(prefix, token, opts)
      for (let i = 0; i < page.keys.length; i++) {
        const oid = oidFromKey(page.keys[i]!)
        if (!oid) continue
        oids.push(oid)
        if (page.sizes[i]! >= 0) this.seenSizes.set(oid, page.sizes[i]!)
      }
      if (!page.truncated || !page.token) return { oids, truncated: false }
      if (opts.max !== undefined && oids.length >= opts.max) return { oids, truncated: true }
      token = page.token
    }
  }

  /** One page of ListObjectsV2: the lean request where it is on (the SDK's XML parser cost ~0.1 ms a key). */
  private async listPage(prefix: string, token: string | undefined, opts: OpOptions): Promise<ListingPage> {
    if (this.lean) return this.retrying(() => this.lean!.list(this.bucket, prefix, token, opts.signal), opts, 'list')
    const res = await this.send<{ Contents?: Array<{ Key?: string; Size?: number }>; IsTruncated?: boolean; NextContinuationToken?: string }>(
      () => new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: 1000 }),
      opts,
      'list',
    )
    const listed = (res.Contents ?? []).filter((c) => c.Key)
    return {
      keys: listed.map((c) => c.Key!),
      sizes: listed.map((c) => (typeof c.Size === 'number' ? c.Size : -1)),
      truncated: Boolean(res.IsTruncated),
      token: res.NextContinuationToken,
    }
  }

  /**
   * The sizes of the stored copies among `oids`, as the listing or the existence checks of
   * the last `has` gave them (no request of its own): push sends a copy of the wrong size
   * again instead of counting it there (a truncated or replaced object on the bucket).
   */
  async sizes(oids: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>()
    for (const oid of oids) {
      const size = this.seenSizes.get(oid)
      if (size !== undefined) out.set(oid, size)
    }
    return out
  }

  async has(oids: string[], opts: OpOptions & { jobs?: number } = {}): Promise<Set<string>> {
    if (!oids.length) return new Set()
    // One page of the whole listing: checks the bucket and the credentials, is the whole
    // answer for a remote of up to 1,000 objects, and else estimates the remote's size
    // from how far through the 256 prefixes (keys come sorted) it got.
    const first = await this.listPrefix('', { ...opts, max: 1 })
    if (!first.truncated) {
      const all = new Set(first.oids)
      return new Set(oids.filter((o) => all.has(o)))
    }
    const last = first.oids[first.oids.length - 1] ?? 'ff'
    const estimate = Math.round((first.oids.length * 256) / (parseInt(last.slice(0, 2), 16) + 1))
    if (chooseExistenceCheck(oids.length, estimate) === 'list') {
      const all = await this.list(opts)
      return new Set(oids.filter((o) => all.has(o)))
    }
    const found = new Set<string>()
    await pool(
      oids,
      opts.jobs ?? 16,
      async (oid) => {
        try {
          const head = await this.send<{ ContentLength?: number }>(
            () => new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(oid) }),
            opts,
            `check ${oid}`,
          )
          found.add(oid)
          if (typeof head.ContentLength === 'number') this.seenSizes.set(oid, head.ContentLength)
        } catch (e) {
          const s = ((e as XpError).data?.status as number | undefined) ?? 0
          if (s !== 404) throw e
        }
      },
      opts.signal,
    )
    return found
  }

  async list(opts: OpOptions & { jobs?: number } = {}): Promise<Set<string>> {
    const out = new Set<string>()
    // small remotes in one sequential listing; big ones by the 256 prefixes in parallel
    const first = await this.listPrefix('', { ...opts, max: 5000 })
    if (!first.truncated) return new Set(first.oids)
    await pool(
      PREFIXES,
      opts.jobs ?? 16,
      async (p) => {
        for (const oid of (await this.listPrefix(p + '/', opts)).oids) out.add(oid)
      },
      opts.signal,
    )
    return out
  }

  async get(oid: string, dest: string, opts: OpOptions = {}): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let moved = 0
      try {
        const res = await this.send<{ Body?: NodeJS.ReadableStream }>(
          () => new GetObjectCommand({ Bucket: this.bucket, Key: this.key(oid) }),
          opts,
          `download ${oid}`,
        )
        if (!res.Body) throw new XpError('XP_REMOTE_FAILED', `data remote "${this.name}": empty answer for ${oid}`, {})
        await pipeline(
          res.Body,
          counter((n) => ((moved += n), opts.onBytes?.(n))),
          fs.createWriteStream(dest),
          { signal: opts.signal },
        )
        return
      } catch (e) {
        const s = (e as XpError).data?.status
        if (s === 404 || (e as XpError).data?.s3code === 'NoSuchKey')
          throw new XpError('XP_REMOTE_OBJECT_MISSING', `data remote "${this.name}" has no object ${oid}`, {
            hint: `push it there from the clone that has it (\`xp push -r ${this.name}\`)`,
            data: { oid },
          })
        opts.onBytes?.(-moved)
        if (e instanceof XpError || attempt + 1 >= RETRIES || opts.signal?.aborted) throw this.toXpError(e, `download ${oid}`)
        await sleep(150 * 3 ** attempt)
      }
    }
  }

  /** A small object's bytes, verified by the caller, in one PutObject (the lean one on a custom endpoint). */
  async uploadBytes(oid: string, body: Buffer, opts: OpOptions = {}): Promise<void> {
    const Key = this.key(oid)
    if (this.lean) await this.retrying(() => this.lean!.put(this.bucket, Key, body, opts.signal), opts, `upload ${oid}`)
    else
      await this.send(
        () => new PutObjectCommand({ Bucket: this.bucket, Key, Body: body, ContentLength: body.length, ContentType: 'application/octet-stream' }),
        opts,
        `upload ${oid}`,
      )
    opts.onBytes?.(body.length)
  }

  async put(oid: string, src: string, size: number, opts: OpOptions = {}): Promise<void> {
    const Key = this.key(oid)
    if (size <= SMALL_BODY) {
      // small objects go as one buffer: half the SDK's per-request cost of a stream body,
      // and memory stays bounded at jobs x SMALL_BODY
      return this.uploadBytes(oid, await fs.promises.readFile(src), opts)
    }
    if (size <= this.threshold) {
      let moved = 0
      try {
        await this.send(
          () => {
            opts.onBytes?.(-moved)
            moved = 0
            const body = fs.createReadStream(src, { highWaterMark: 1024 * 1024 }).pipe(counter((n) => ((moved += n), opts.onBytes?.(n))))
            return new PutObjectCommand({ Bucket: this.bucket, Key, Body: body, ContentLength: size, ContentType: 'application/octet-stream' })
          },
          opts,
          `upload ${oid}`,
        )
      } catch (e) {
        opts.onBytes?.(-moved)
        throw e
      }
      return
    }
    return this.multipart(oid, src, size, opts)
  }

  private async multipart(oid: string, src: string, size: number, opts: OpOptions): Promise<void> {
    const Key = this.key(oid)
    // the parts read one descriptor (pread at their offsets)
    const file = fs.openSync(src, 'r')
    let UploadId: string | undefined
    try {
      ;({ UploadId } = await this.send<{ UploadId?: string }>(
        () => new CreateMultipartUploadCommand({ Bucket: this.bucket, Key, ContentType: 'application/octet-stream' }),
        opts,
        `upload ${oid}`,
      ))
      const parts: Array<{ PartNumber: number; ETag?: string }> = []
      const ranges = Array.from({ length: Math.ceil(size / this.partSize) }, (_, i) => i)
      await pool(
        ranges,
        PART_JOBS,
        async (i) => {
          const start = i * this.partSize
          const end = Math.min(size, start + this.partSize) - 1
          let moved = 0
          const res = await this.send<{ ETag?: string }>(
            () => {
              opts.onBytes?.(-moved)
              moved = 0
              const read = fs.createReadStream(src, { fd: file, autoClose: false, start, end, highWaterMark: 1024 * 1024 })
              const body = read.pipe(counter((n) => ((moved += n), opts.onBytes?.(n))))
              read.on('error', (e) => body.destroy(e)) // a read error fails the part, never an uncaught error
              return new UploadPartCommand({ Bucket: this.bucket, Key, UploadId, PartNumber: i + 1, Body: body, ContentLength: end - start + 1 })
            },
            opts,
            `upload ${oid} part ${i + 1}`,
          )
          parts[i] = { PartNumber: i + 1, ETag: res.ETag }
        },
        opts.signal,
      )
      await this.send(
        () => new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId, MultipartUpload: { Parts: parts } }),
        opts,
        `upload ${oid}`,
      )
    } catch (e) {
      if (UploadId) await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId })).catch(() => {})
      throw e
    } finally {
      fs.closeSync(file)
    }
  }

  close(): void {
    this.client.destroy()
  }
}

function isTransient(e: unknown): boolean {
  const err = e as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown; cause?: { code?: string } }
  const status = err?.$metadata?.httpStatusCode ?? 0
  if (status >= 500 || status === 429) return true
  if (err?.$retryable) return true
  if (['SlowDown', 'RequestTimeout', 'RequestTimeTooSkewed', 'TimeoutError', 'InternalError', 'ServiceUnavailable'].includes(err?.name ?? '')) return true
  const code = err?.code ?? err?.cause?.code ?? ''
  return ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED'].includes(code)
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
