/**
 * The MLflow REST API on `xp ui`'s origin: `/api/2.0/mlflow/*`, `/api/2.0/mlflow-artifacts/*`
 * and the same under `/ajax-api/2.0/`. A thin adapter: it decodes a request (query string
 * for GET, JSON body otherwise, raw bytes for artifact uploads), calls one core function
 * (core/mlflow/service.ts, core/mlflow/registry.ts) and encodes the answer, or the error
 * as MLflow does: `{error_code, message}` with the real server's HTTP status.
 */
import type http from 'node:http'
import { Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Repo } from '../core/repo.js'
import type { ListedRun, ListScope } from '../core/runs/list.js'
import { MlflowService } from '../core/mlflow/service.js'
import { MlflowRegistry } from '../core/mlflow/registry.js'
import { MLFLOW_STATUS, mlflowCode } from '../core/mlflow/errors.js'
import { XpError } from '../core/errors.js'
import fs from 'node:fs'
import path from 'node:path'
import { createHash } from 'node:crypto'
import { listLiveRuns } from '../core/runs/live-list.js'
import { thin, type RunSeries } from './series.js'

/** JSON bodies: a log-batch of 1000 metrics is about 100 KB. */
export const MAX_JSON_BYTES = 16 * 1024 * 1024
/** One artifact upload (streamed to the cache, never held in memory). */
export const MAX_ARTIFACT_BYTES = 8 * 1024 * 1024 * 1024

const PREFIXES = ['/api/2.0/', '/ajax-api/2.0/']

/** Is this request path (with or without a query) one of the MLflow API's? */
export function isMlflowPath(p: string): boolean {
  return PREFIXES.some((pre) => p.startsWith(`${pre}mlflow/`) || p.startsWith(`${pre}mlflow-artifacts/`))
}

export { mlflowAuthorized } from './mlflow-auth.js'

export interface MlflowApiOptions {
  /** every recorded run of the repository (a run is found by its id whatever its project) */
  recorded: () => Promise<ListedRun[]>
  invalidate: () => void
  /** which runs a search lists (and the page's live runs): default every project's */
  scope?: ListScope
}

/** Live runs for the page: listed first, their curves from the live store, a version that moves with every write. */
export interface LiveForPage {
  /** '' when nothing is live, so the listing's own version stays as it is */
  version(): string
  runs(): ListedRun[]
  /** the curves of a live run, or null when `spec` (id or name) is not live */
  series(spec: string): RunSeries | null
  run(spec: string): ListedRun | null
}

export interface MlflowApi {
  live: LiveForPage
  /** Answer the request if it is an MLflow route; false when it is not one. (The server's access gate ran before.) */
  handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<boolean>
  service: MlflowService
}

class Limit extends Transform {
  private seen = 0
  constructor(private max: number) {
    super()
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
    this.seen += chunk.length
    if (this.seen > this.max)
      return cb(new XpError('XP_MLFLOW_TOO_LARGE', `the upload is over ${this.max} bytes`, { data: { mlflow: 'INVALID_PARAMETER_VALUE', status: 413 } }))
    cb(null, chunk)
  }
}

/** The body, refused past the limit: the answer goes out at once, the rest is discarded and the connection closed. */
function readBody(req: http.IncomingMessage, res: http.ServerResponse, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (d: Buffer) => {
      size += d.length
      if (size <= limit) return void chunks.push(d)
      req.off('data', onData)
      req.resume()
      res.setHeader('connection', 'close')
      reject(new XpError('XP_MLFLOW_TOO_LARGE', `the request body is over ${limit} bytes`, { data: { mlflow: 'INVALID_PARAMETER_VALUE', status: 413 } }))
    }
    req.on('data', onData)
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

async function readJson(req: http.IncomingMessage, res: http.ServerResponse): Promise<Record<string, unknown>> {
  const text = (await readBody(req, res, MAX_JSON_BYTES)).toString('utf8')
  if (!text.trim()) return {}
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (e) {
    throw new XpError('XP_MLFLOW_BAD_PARAMETER', `Malformed request body: ${(e as Error).message}`, { data: { mlflow: 'INVALID_PARAMETER_VALUE' } })
  }
  if (!v || typeof v !== 'object' || Array.isArray(v))
    throw new XpError('XP_MLFLOW_BAD_PARAMETER', 'Malformed request body: a JSON object is expected', { data: { mlflow: 'INVALID_PARAMETER_VALUE' } })
  return v as Record<string, unknown>
}

function queryObject(url: URL): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const k of new Set(url.searchParams.keys())) {
    const all = url.searchParams.getAll(k)
    out[k] = all.length > 1 || k === 'experiment_ids' || k === 'order_by' ? all : all[0]
  }
  return out
}

function json(res: http.ServerResponse, status: number, v: unknown) {
  const body = JSON.stringify(v)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  })
  res.end(body)
}

const TYPES: Record<string, string> = {
  txt: 'text/plain',
  log: 'text/plain',
  csv: 'text/plain',
  tsv: 'text/plain',
  md: 'text/plain',
  yaml: 'text/plain',
  yml: 'text/plain',
  py: 'text/plain',
  json: 'application/json',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  svg: 'image/svg+xml',
  html: 'text/plain',
  pdf: 'application/pdf',
}

/** Send the error as MLflow does. */
export function sendMlflowError(res: http.ServerResponse, e: unknown) {
  if (res.headersSent) return res.destroy()
  const code = mlflowCode(e)
  const status = (e instanceof XpError && typeof e.data?.status === 'number' ? e.data.status : MLFLOW_STATUS[code]) as number
  const message = e instanceof Error ? e.message : String(e)
  json(res, status, { error_code: code, message })
}

type Handler = (input: Record<string, unknown>) => Promise<unknown>

/**
 * The API over one repository.
 *
 * @example
 * const api = createMlflowApi(repo, { recorded: () => cache.list().then((l) => l.runs), invalidate: () => cache.invalidate() })
 * if (await api.handle(req, res, url)) return
 */
export function createMlflowApi(repo: Repo, opts: MlflowApiOptions): MlflowApi {
  // runs recorded here are known to the service at once; the page's listing sees them within its refresh time
  const service = new MlflowService(repo, { recorded: opts.recorded, refresh: opts.invalidate, scope: opts.scope })
  const registry = new MlflowRegistry(
    repo,
    async () => [...service.recentRuns(), ...(await opts.recorded())],
    () => repo.ctx.now().getTime(),
    (id) => service.settled(id),
  )
  registry.onStale = opts.invalidate
  const s = service
  const r = registry
  // "METHOD path" -> handler; GET gets the query, the others the JSON body (plus the query)
  const routes: Record<string, Handler> = {
    'GET mlflow/experiments/get-by-name': (q) => s.getExperimentByName(q),
    'GET mlflow/experiments/get': (q) => s.getExperiment(q),
    'POST mlflow/experiments/create': (b) => s.createExperiment(b),
    'GET mlflow/experiments/search': (q) => s.searchExperiments(q),
    'POST mlflow/experiments/search': (b) => s.searchExperiments(b),
    'GET mlflow/experiments/list': (q) => s.searchExperiments({ ...q, max_results: q.max_results ?? 100000 }),
    'POST mlflow/experiments/delete': (b) => s.deleteExperiment(b),
    'POST mlflow/experiments/restore': (b) => s.deleteExperiment(b, false),
    'POST mlflow/experiments/set-experiment-tag': (b) => s.setExperimentTag(b),
    'POST mlflow/runs/create': (b) => s.createRun(b),
    'GET mlflow/runs/get': (q) => s.getRun(q),
    'POST mlflow/runs/update': (b) => s.updateRun(b),
    'POST mlflow/runs/delete': (b) => s.deleteRun(b),
    'POST mlflow/runs/restore': (b) => s.deleteRun(b, false),
    'POST mlflow/runs/log-parameter': (b) => s.logParam(b),
    'POST mlflow/runs/log-metric': (b) => s.logMetric(b),
    'POST mlflow/runs/log-batch': (b) => s.logBatch(b),
    'POST mlflow/runs/set-tag': (b) => s.setTag(b),
    'POST mlflow/runs/delete-tag': (b) => s.deleteTag(b),
    'POST mlflow/runs/log-model': (b) => s.logModel(b),
    'POST mlflow/runs/log-inputs': (b) => s.logInputs(b),
    'POST mlflow/runs/search': (b) => s.searchRuns(b),
    'GET mlflow/runs/search': (q) => s.searchRuns(q),
    'GET mlflow/metrics/get-history': (q) => s.getMetricHistory(q),
    'GET mlflow/artifacts/list': (q) => s.listRunArtifacts(q),
    'POST mlflow/registered-models/create': (b) => r.create(b),
    'GET mlflow/registered-models/get': (q) => r.get(q),
    'GET mlflow/registered-models/search': (q) => r.search(q),
    'POST mlflow/registered-models/search': (b) => r.search(b),
    'DELETE mlflow/registered-models/delete': (b) => r.delete(b),
    'POST mlflow/registered-models/alias': (b) => r.setAlias(b),
    'DELETE mlflow/registered-models/alias': (b) => r.deleteAlias(b),
    'GET mlflow/registered-models/alias': (q) => r.getByAlias(q),
    'POST mlflow/model-versions/create': (b) => r.createVersion(b),
    'GET mlflow/model-versions/get': (q) => r.getVersion(q),
    'GET mlflow/model-versions/get-download-uri': (q) => r.getDownloadUri(q),
    'GET mlflow/model-versions/search': (q) => r.searchVersions(q),
    'POST mlflow/model-versions/search': (b) => r.searchVersions(b),
    'DELETE mlflow/model-versions/delete': (b) => r.deleteVersion(b),
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<boolean> {
    const prefix = PREFIXES.find((p) => url.pathname.startsWith(p))
    if (!prefix) return false
    const rest = url.pathname.slice(prefix.length)
    if (!rest.startsWith('mlflow/') && !rest.startsWith('mlflow-artifacts/')) return false
    const method = req.method ?? 'GET'
    try {
      if (rest.startsWith('mlflow-artifacts/artifacts')) {
        await artifacts(req, res, url, rest.slice('mlflow-artifacts/artifacts'.length), method)
        return true
      }
      const h = routes[`${method === 'HEAD' ? 'GET' : method} ${rest}`]
      if (!h) {
        const known = Object.keys(routes).some((k) => k.endsWith(` ${rest}`))
        json(res, known ? 405 : 404, {
          error_code: known ? 'BAD_REQUEST' : 'ENDPOINT_NOT_FOUND',
          message: known ? `Method ${method} is not allowed on ${url.pathname}` : `No API endpoint ${url.pathname}`,
        })
        return true
      }
      const input = method === 'GET' || method === 'HEAD' ? queryObject(url) : { ...queryObject(url), ...(await readJson(req, res)) }
      json(res, 200, await h(input))
    } catch (e) {
      sendMlflowError(res, e)
    }
    return true
  }

  async function artifacts(req: http.IncomingMessage, res: http.ServerResponse, url: URL, tail: string, method: string) {
    if (tail === '' || tail === '/') {
      if (method !== 'GET' && method !== 'HEAD') return json(res, 405, { error_code: 'BAD_REQUEST', message: `Method ${method} is not allowed` })
      const p = url.searchParams.get('path') ?? ''
      return json(res, 200, await s.listArtifacts(p))
    }
    // the raw path, each segment decoded once: an encoded "/" or ".." is still caught by the guard
    let p: string
    try {
      p = tail
        .slice(1)
        .split('/')
        .map((seg) => decodeURIComponent(seg))
        .join('/')
    } catch {
      throw new XpError('XP_MLFLOW_BAD_PARAMETER', 'Invalid artifact path: bad percent-encoding', { data: { mlflow: 'INVALID_PARAMETER_VALUE' } })
    }
    if (method === 'PUT') {
      const declared = Number(req.headers['content-length'] ?? 0)
      if (declared > MAX_ARTIFACT_BYTES)
        throw new XpError('XP_MLFLOW_TOO_LARGE', `the upload is over ${MAX_ARTIFACT_BYTES} bytes`, { data: { mlflow: 'INVALID_PARAMETER_VALUE', status: 413 } })
      const limited = new Limit(MAX_ARTIFACT_BYTES)
      const done = pipeline(req, limited).catch((e) => limited.destroy(e))
      const out = await s.putArtifact(p, limited)
      await done
      opts.invalidate()
      return json(res, 200, out)
    }
    if (method === 'GET' || method === 'HEAD') {
      const a = await s.openArtifact(p)
      const ext = a.name.includes('.') ? a.name.slice(a.name.lastIndexOf('.') + 1).toLowerCase() : ''
      res.writeHead(200, {
        'content-type': TYPES[ext] ?? 'application/octet-stream',
        'content-length': a.size,
        'x-content-type-options': 'nosniff',
        'content-security-policy': "default-src 'none'",
        'cache-control': 'no-store',
      })
      if (method === 'HEAD') {
        a.stream.destroy()
        return res.end()
      }
      await pipeline(a.stream, res)
      return
    }
    if (method === 'DELETE')
      throw new XpError('XP_MLFLOW_RUN_RECORDED', 'Artifacts of xp runs are immutable (they are part of the run record)', {
        data: { mlflow: 'INVALID_PARAMETER_VALUE' },
      })
    json(res, 405, { error_code: 'BAD_REQUEST', message: `Method ${method} is not allowed` })
  }

  const live: LiveForPage = {
    version() {
      let names: string[]
      try {
        names = fs.readdirSync(service.live.dir).filter((n) => n.endsWith('.jsonl'))
      } catch {
        return ''
      }
      if (!names.length) return ''
      const h = createHash('sha1')
      for (const n of names.sort()) {
        try {
          const st = fs.statSync(path.join(service.live.dir, n))
          h.update(`${n} ${st.size} ${st.mtimeMs}\n`)
        } catch {
          // recorded meanwhile
        }
      }
      return '+' + h.digest('hex').slice(0, 12)
    },
    runs: () => listLiveRuns(repo, opts.scope),
    run: (spec) => listLiveRuns(repo).find((r) => r.id === spec || r.name === spec || (spec.length >= 4 && r.id.startsWith(spec))) ?? null,
    series(spec) {
      const r = live.run(spec)
      const l = r && service.live.get(r.id)
      if (!l) return null
      const out: RunSeries = {}
      for (const [k, pts] of Object.entries(l.metrics)) {
        const sorted = [...pts].sort((a, b) => a[0] - b[0])
        out[k] = thin({ x: sorted.map((p) => p[0]), y: sorted.map((p) => p[1]) })
      }
      return out
    },
  }

  return { handle, service, live }
}
