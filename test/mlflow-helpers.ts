/**
 * Helpers for the MLflow API tests: a real `xp ui` on 127.0.0.1 (stopped by pid), raw
 * HTTP calls, and the replay of traffic recorded between MLflow's real Python client and
 * xp (fixtures/mlflow/*.jsonl, made by scripts/record-mlflow-traffic.mjs).
 */
import http from 'node:http'
import fs from 'node:fs'
import path from 'node:path'
import { ROOT, type TestRepo } from './helpers.js'

export const FIXTURES = path.join(ROOT, 'fixtures', 'mlflow')

export { startUi, type Ui } from './servers/ui.js'

export interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
  json: any
}

/** One HTTP call; `body` an object is sent as JSON, a Buffer as it is. */
export function call(base: string, method: string, rawPath: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const u = new URL(base)
  const data = body === undefined ? undefined : Buffer.isBuffer(body) ? body : typeof body === 'string' ? Buffer.from(body) : Buffer.from(JSON.stringify(body))
  const h: Record<string, string> = { ...headers }
  if (data && !h['content-type']) h['content-type'] = Buffer.isBuffer(body) ? 'application/octet-stream' : 'application/json'
  if (data) h['content-length'] = String(data.length)
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: rawPath, method, headers: h, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (d) => chunks.push(d))
      res.on('end', () => {
        const b = Buffer.concat(chunks)
        let json: any = null
        if (/json/.test(String(res.headers['content-type'] ?? ''))) {
          try {
            json = JSON.parse(b.toString('utf8'))
          } catch {
            json = null
          }
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b, json })
      })
    })
    req.on('error', reject)
    req.end(data)
  })
}

export const api = (base: string, method: string, endpoint: string, body?: unknown) => call(base, method, `/api/2.0/mlflow/${endpoint}`, body)

export interface Recorded {
  seq: number
  method: string
  url: string
  ctype: string | null
  req: any
  status: number
  resp: any
}

export function readTraffic(file: string): Recorded[] {
  return fs
    .readFileSync(path.join(FIXTURES, file), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
}

/**
 * Send recorded requests again, in order, with the run ids of the recording replaced by
 * the ones this server gives; returns each call with its new reply.
 */
export async function replay(base: string, calls: Recorded[]): Promise<Array<{ rec: Recorded; reply: Reply }>> {
  const ids = new Map<string, string>()
  const sub = (s: string) => {
    for (const [a, b] of ids) s = s.split(a).join(b)
    return s
  }
  const out: Array<{ rec: Recorded; reply: Reply }> = []
  for (const rec of calls) {
    let body: unknown
    const headers: Record<string, string> = {}
    if (rec.ctype) headers['content-type'] = rec.ctype
    if (rec.req && typeof rec.req === 'object' && 'base64' in rec.req) body = Buffer.from(rec.req.base64, 'base64')
    else if (rec.req !== null) body = sub(JSON.stringify(rec.req))
    const reply = await call(base, rec.method, sub(rec.url), body, headers)
    if (rec.url.endsWith('/runs/create') && reply.json?.run) ids.set(rec.resp.run.info.run_id, reply.json.run.info.run_id)
    out.push({ rec, reply })
  }
  return out
}

/** The set of key paths of a JSON value (arrays by their first element). */
export function keyPaths(v: unknown, pre = ''): Set<string> {
  const out = new Set<string>()
  if (Array.isArray(v)) {
    if (v.length) for (const k of keyPaths(v[0], pre + '[].')) out.add(k)
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      out.add(pre + k)
      for (const kk of keyPaths(x, pre + k + '.')) out.add(kk)
    }
  }
  return out
}

/** Wait until the server has recorded every run that ended (it records in the background). */
export async function waitRecorded(r: TestRepo, timeoutMs = 20_000): Promise<void> {
  const dir = path.join(r.dir, '.xp', 'live')
  const t0 = Date.now()
  for (;;) {
    const left = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl')) : []
    // a file gone between the listing and its read was recorded meanwhile
    const read = (f: string) => {
      try {
        return fs.readFileSync(path.join(dir, f), 'utf8')
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return ''
        throw e
      }
    }
    const ended = left.filter((f) => /"e":"end"/.test(read(f)))
    if (!ended.length) return
    if (Date.now() - t0 > timeoutMs) throw new Error(`runs not recorded after ${timeoutMs} ms: ${ended.join(', ')}`)
    await new Promise((res) => setTimeout(res, 50))
  }
}
