/**
 * A lean S3 client for the two requests a push makes by the thousand on custom
 * (path-style) endpoints: PutObject of a small object and ListObjectsV2. Signed here (SigV4,
 * unsigned payload) and sent over node's http with a keep-alive agent. The SDK's full
 * middleware stack cost 2-4 ms of CPU per PutObject, and its XML parser ~0.1 ms per listed
 * key; on two cores, with thousands of 16 KiB objects, that (not the network) was the
 * limit. Errors come back shaped like the SDK's (`name` = S3 error code,
 * `$metadata.httpStatusCode`) so the same retry and error mapping apply. Content-MD5 lets
 * the server check the bytes of a PutObject.
 */
import http from 'node:http'
import https from 'node:https'
import { createHash, createHmac } from 'node:crypto'
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types'

/** RFC 3986 encoding of a query name or value, as SigV4 wants it (everything but unreserved). */
const encodeQuery = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())

/**
 * AWS Signature V4 with an unsigned payload: the signing key is made once a day (four
 * HMACs), then a request costs one SHA-256 and one HMAC, synchronously. The SDK's signer
 * (async, header normalisation, a promise per hash) cost ~50 µs more a request.
 * test/remotes-unit.test.ts checks it gives the SDK signer's Authorization header.
 */
export class LeanSigner {
  private day = ''
  private key?: Buffer
  private keyFor = ''
  constructor(private region: string) {}

  /**
   * Headers to send, `authorization` included. `headers` have lowercase names; `query` is
   * the request's query (sent as `canonicalQuery` returns it). `now` is for tests.
   */
  sign(
    method: string,
    creds: AwsCredentialIdentity,
    host: string,
    pathname: string,
    query: Record<string, string>,
    headers: Record<string, string>,
    now = new Date(),
  ): Record<string, string> {
    const amzDate = now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '')
    const day = amzDate.slice(0, 8)
    if (day !== this.day || this.keyFor !== creds.secretAccessKey) {
      const h = (k: string | Buffer, d: string) => createHmac('sha256', k).update(d).digest()
      this.key = h(h(h(h(`AWS4${creds.secretAccessKey}`, day), this.region), 's3'), 'aws4_request')
      this.day = day
      this.keyFor = creds.secretAccessKey
    }
    const all: Record<string, string> = { ...headers, host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-date': amzDate }
    if (creds.sessionToken) all['x-amz-security-token'] = creds.sessionToken
    const names = Object.keys(all).sort()
    const signedHeaders = names.join(';')
    let canonical = `${method}\n${pathname}\n${canonicalQuery(query)}\n`
    for (const n of names) canonical += `${n}:${all[n]!.trim()}\n`
    canonical += `\n${signedHeaders}\nUNSIGNED-PAYLOAD`
    const scope = `${day}/${this.region}/s3/aws4_request`
    const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`
    const signature = createHmac('sha256', this.key!).update(toSign).digest('hex')
    all.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`
    return all
  }
}

/** A query string in SigV4's canonical form (sorted, RFC 3986), which is also what is sent. */
export function canonicalQuery(query: Record<string, string>): string {
  return Object.keys(query)
    .sort()
    .map((k) => `${encodeQuery(k)}=${encodeQuery(query[k]!)}`)
    .join('&')
}

const unescapeXml = (s: string) =>
  s.replace(/&(amp|lt|gt|quot|apos|#x[0-9a-fA-F]+|#[0-9]+);/g, (_, e: string) =>
    e === 'amp'
      ? '&'
      : e === 'lt'
        ? '<'
        : e === 'gt'
          ? '>'
          : e === 'quot'
            ? '"'
            : e === 'apos'
              ? "'"
              : String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)),
  )

/** One page of a listing: keys, their sizes (-1 where the answer gave none), continuation. */
export interface ListingPage {
  keys: string[]
  sizes: number[]
  truncated: boolean
  token?: string
}

/** The keys, sizes and continuation of a ListObjectsV2 answer (XML), without an XML parser. */
export function parseListing(xml: string): ListingPage {
  const keys: string[] = []
  const sizes: number[] = []
  const re = /<Contents>([\s\S]*?)<\/Contents>/g
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    const key = /<Key>([^<]*)<\/Key>/.exec(m[1]!)?.[1]
    if (key === undefined) continue
    const size = /<Size>\s*(\d+)\s*<\/Size>/.exec(m[1]!)?.[1]
    keys.push(unescapeXml(key))
    sizes.push(size === undefined ? -1 : Number(size))
  }
  const token = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1]
  return { keys, sizes, truncated: /<IsTruncated>\s*true\s*<\/IsTruncated>/.test(xml), token: token === undefined ? undefined : unescapeXml(token) }
}

/** Encode a key for a path: each segment URI-encoded (RFC 3986), slashes kept. */
export function encodeKey(key: string): string {
  // object keys are hex and slashes: nothing to encode (the general path cost ~50 µs a key)
  if (/^[A-Za-z0-9._~/-]*$/.test(key)) return key
  return key
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()))
    .join('/')
}

export class LeanS3 {
  private signer: LeanSigner
  private url: URL
  private creds?: AwsCredentialIdentity

  constructor(
    endpoint: string,
    region: string,
    private credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider,
    private agents: { http: http.Agent; https: https.Agent },
  ) {
    this.url = new URL(endpoint)
    this.signer = new LeanSigner(region)
  }

  /** The credentials, resolved once and again only when they come within 5 minutes of expiring. */
  private async identity(): Promise<AwsCredentialIdentity> {
    const c = this.creds
    if (c && (!c.expiration || c.expiration.getTime() - Date.now() > 300_000)) return c
    this.creds = typeof this.credentials === 'function' ? await this.credentials() : this.credentials
    return this.creds
  }

  /** PutObject of bytes held in memory, with their Content-MD5. */
  async put(bucket: string, key: string, body: Buffer, signal?: AbortSignal): Promise<void> {
    await this.request('PUT', `/${encodeKey(bucket)}/${encodeKey(key)}`, {}, body, signal, {
      'content-length': String(body.length),
      'content-type': 'application/octet-stream',
      'content-md5': createHash('md5').update(body).digest('base64'),
    })
  }

  /** One page (up to 1,000 keys) of ListObjectsV2. */
  async list(bucket: string, prefix: string, token?: string, signal?: AbortSignal): Promise<ListingPage> {
    const query: Record<string, string> = { 'list-type': '2', 'max-keys': '1000', prefix }
    if (token) query['continuation-token'] = token
    return parseListing((await this.request('GET', `/${encodeKey(bucket)}`, query, undefined, signal)).toString('utf8'))
  }

  private async request(
    method: string,
    path: string,
    query: Record<string, string>,
    body: Buffer | undefined,
    signal: AbortSignal | undefined,
    extra: Record<string, string> = {},
  ): Promise<Buffer> {
    const pathname = `${this.url.pathname.replace(/\/+$/, '')}${path}`
    const creds = this.creds && !this.creds.expiration ? this.creds : await this.identity()
    const headers = this.signer.sign(method, creds, this.url.host, pathname, query, extra)
    const q = canonicalQuery(query)
    const secure = this.url.protocol === 'https:'
    return new Promise<Buffer>((resolve, reject) => {
      const req = (secure ? https : http).request(
        {
          method,
          host: this.url.hostname,
          port: this.url.port || (secure ? 443 : 80),
          path: q ? `${pathname}?${q}` : pathname,
          headers,
          agent: secure ? this.agents.https : this.agents.http,
          signal,
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => {
            const status = res.statusCode ?? 0
            const data = Buffer.concat(chunks)
            if (status >= 200 && status < 300) return resolve(data)
            const text = data.toString('utf8')
            const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? (status === 404 ? 'NotFound' : status === 403 ? 'Forbidden' : `HTTP${status}`)
            const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? `HTTP ${status}`
            reject(Object.assign(new Error(message), { name: code, $metadata: { httpStatusCode: status } }))
          })
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.end(body)
    })
  }
}
