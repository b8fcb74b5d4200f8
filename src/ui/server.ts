/**
 * `xp ui`: a local HTTP server over the repository's refs, no database. It serves the
 * bundled page (dist/ui/), a JSON API, and nothing else: routes are matched exactly, so
 * no URL reaches the file system. It is read-only except for adding a note, which needs
 * the page's token and a same-origin request. Bound to 127.0.0.1 unless told otherwise.
 * Every request passes one gate first (./access.ts): the Host header must be an allowed
 * name (DNS rebinding), and off loopback every request needs the access token. Routes
 * added to this server get that gate for free: they are reached only through `serve`.
 */
import http from 'node:http'
import fs from 'node:fs'
import path from 'node:path'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import type { Repo } from '../core/repo.js'
import { XpError, isXpError, type ErrorCode } from '../core/errors.js'
import { CatFileBatch } from '../core/git.js'
import { inScope, listRuns, listScope, type ListedRun, type ListScope } from '../core/runs/list.js'
import { findRun } from '../core/runs/resolve.js'
import { slimRun, readRunSeries, readRunLog, changedFiles, refsVersion, readRunPlots } from './data.js'
import { noteRun } from '../core/runs/manage.js'
import { registryView } from './registry.js'
import { escapeHtml } from './html.js'
import { accessGate, isLoopback } from './access.js'
import { createMlflowApi, isMlflowPath, sendMlflowError } from './mlflow.js'
import { embeddedFile } from '../core/embedded.js'
import { runFiles, sendRunFile, type RunFile } from './files.js'
import { readAllCurves, type AllCurves } from './curves.js'
import { listXpLiveRuns, liveStart, liveLogTail } from '../core/runs/live-run.js'
import { readLiveSeries } from './data.js'

export interface UiServerOptions {
  port?: number
  host?: string
  /** where app.js and app.css are (default: dist/ui beside the bundle) */
  assetsDir?: URL
  /** Host header names allowed besides loopback and the bound address (`--allow-host`) */
  allowHosts?: string[]
  /** the token every request needs off loopback (default: a random one, in `url`) */
  accessToken?: string
  /** list every project's runs, not only those of the project the server was started in (`--all-projects`) */
  allProjects?: boolean
}

export interface UiServer {
  /** the address to open; off loopback it carries `?token=` */
  url: string
  /** false when bound off loopback: every request then needs the token */
  loopback: boolean
  port: number
  close(): Promise<void>
}

export const DEFAULT_PORT = 8390
/** How long a computed refs version is trusted before git is asked again. */
const VERSION_TTL_MS = 500
/** Notes are short text; a bigger body is refused before git sees it. */
const MAX_NOTE_BYTES = 64 * 1024

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
}

/** A protocol-level answer (404 for an unknown route, 413, 415...) with its code. */
class Http extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: ErrorCode = 'XP_HTTP',
  ) {
    super(message)
  }
}

/**
 * The listing, reloaded only when refs/xp or the notes moved: every run of the repository
 * (`all`: a run is found by its name or id whatever its project), and those the page lists
 * (`runs`: the scope's project's, ListScope).
 */
class RunsCache {
  private version = ''
  private checkedAt = 0
  private pending: Promise<string> | null = null
  private all: ListedRun[] = []
  private runs: ListedRun[] = []
  private json = ''
  private loadedFor = ''

  constructor(
    private repo: Repo,
    private scope: ListScope,
  ) {}

  currentVersion(): Promise<string> {
    if (Date.now() - this.checkedAt < VERSION_TTL_MS) return Promise.resolve(this.version)
    this.pending ??= refsVersion(this.repo)
      .then((v) => {
        this.version = v
        this.checkedAt = Date.now()
        return v
      })
      .finally(() => (this.pending = null))
    return this.pending
  }

  async list(): Promise<{ runs: ListedRun[]; all: ListedRun[]; json: string; version: string }> {
    const v = await this.currentVersion()
    if (v !== this.loadedFor) {
      this.all = await listRuns(this.repo)
      this.runs = this.all.filter((r) => inScope(r, this.scope))
      this.json = JSON.stringify({ version: v, runs: this.runs.map(slimRun) })
      this.loadedFor = v
    }
    return { runs: this.runs, all: this.all, json: this.json, version: v }
  }

  /** Force the next request to look at the refs again (after our own write). */
  invalidate() {
    this.checkedAt = 0
  }
}

function page(token: string, project: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="xp-token" content="${escapeHtml(token)}"><link rel="icon" href="data:,">
<title>xp: ${escapeHtml(project)}</title><link rel="stylesheet" href="/assets/app.css"></head>
<body><div id="app"></div><script type="module" src="/assets/app.js"></script></body></html>
`
}

function send(res: http.ServerResponse, status: number, type: string, body: string | Buffer) {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...SECURITY_HEADERS })
  res.end(body)
}

const sendJson = (res: http.ServerResponse, status: number, v: unknown) =>
  send(res, status, 'application/json; charset=utf-8', typeof v === 'string' ? v : JSON.stringify(v))

function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (d: Buffer) => {
      size += d.length
      if (size > limit) {
        reject(new Http(413, 'request body too large'))
        req.destroy()
      } else chunks.push(d)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

/**
 * Start the server; resolves once it listens.
 *
 * @example
 * const ui = await startUiServer(repo, { port: 0 })
 * console.log(ui.url) // http://127.0.0.1:40123/
 * await ui.close()
 */
export async function startUiServer(repo: Repo, opts: UiServerOptions = {}): Promise<UiServer> {
  const host = opts.host ?? '127.0.0.1'
  const assetsDir = opts.assetsDir ?? new URL('./ui/', import.meta.url)
  const assets = new Map<string, { type: string; body: Buffer }>()
  for (const [name, type] of [
    ['app.js', 'text/javascript; charset=utf-8'],
    ['app.css', 'text/css; charset=utf-8'],
  ]) {
    const file = new URL(name, assetsDir)
    const built = opts.assetsDir ? undefined : embeddedFile(`ui/${name}`)
    if (!built && !fs.existsSync(file))
      throw new XpError('XP_UI_ASSETS_MISSING', `the page's assets are missing (${file.pathname})`, { hint: 'build xp first: npm run build' })
    assets.set(`/assets/${name}`, { type, body: built ?? fs.readFileSync(file) })
  }
  const token = randomBytes(24).toString('hex')
  const scope = listScope(repo, opts.allProjects)
  const html = page(token, scope.project ? `${path.basename(repo.root)}/${scope.project}` : path.basename(repo.root))
  const cache = new RunsCache(repo, scope)
  const loopback = isLoopback(host)
  const accessToken = opts.accessToken ?? randomBytes(24).toString('base64url')
  const gate = accessGate({ bind: host, allowHosts: opts.allowHosts ?? [], token: accessToken })
  // The MLflow REST API (src/ui/mlflow.ts), behind the same gate (its Authorization forms: access.ts).
  // it finds runs by id in every project, and its search keeps to the scope
  const mlflow = createMlflowApi(repo, { recorded: async () => (await cache.list()).all, invalidate: () => cache.invalidate(), scope })
  await mlflow.service.recover(Number(repo.ctx.env.XP_LIVE_STALE_S ?? 3600) * 1000)
  // One `git cat-file --batch` for every file read (series, logs), made again if it dies.
  let batch: CatFileBatch | null = null
  const reader = () => (batch ??= new CatFileBatch({ cwd: repo.root, env: repo.ctx.env }))
  async function withReader<T>(f: (b: CatFileBatch) => Promise<T>): Promise<T> {
    const b = reader()
    try {
      return await f(b)
    } catch (e) {
      if (batch === b) {
        b.close()
        batch = null
      }
      throw e
    }
  }

  // a run's file listing, by commit (records never change); a few kept
  const trees = new Map<string, Promise<{ files: RunFile[]; truncated: boolean }>>()
  function treeOf(run: ListedRun) {
    let t = trees.get(run.commit)
    if (!t) {
      t = withReader((b) => runFiles(repo, run, b))
      t.catch(() => trees.delete(run.commit))
      trees.set(run.commit, t)
      if (trees.size > 32) trees.delete(trees.keys().next().value!)
    }
    return t
  }

  // every run's curves, read once per refs version (the many-curve panel)
  let curves: { version: string; all: Promise<AllCurves> } | null = null
  async function allCurves(): Promise<AllCurves> {
    const { runs, version } = await cache.list()
    if (!curves || curves.version !== version) {
      const all = withReader((b) => readAllCurves(runs, b))
      all.catch(() => (curves = null))
      curves = { version, all }
    }
    return curves.all
  }

  /** `xp run`'s live runs (running or lost) of the scope, and a version that moves when one starts, ends or is lost. */
  function liveRuns(): { runs: ListedRun[]; version: string } {
    const runs = listXpLiveRuns(repo).filter((r) => inScope(r, scope))
    return { runs, version: runs.length ? '+' + runs.map((r) => `${r.id}:${r.status}`).join(',') : '' }
  }

  function liveFor(spec: string): ListedRun | undefined {
    const runs = listXpLiveRuns(repo)
    return runs.find((r) => r.id === spec || r.name === spec) ?? (spec.length >= 4 ? runs.find((r) => r.id.startsWith(spec)) : undefined)
  }

  async function runFor(spec: string): Promise<ListedRun> {
    let run = findRun((await cache.list()).all, spec)
    if (!run) {
      // it may have landed since the version was last looked at
      cache.invalidate()
      run = findRun((await cache.list()).all, spec)
    }
    if (!run) throw new Http(404, `no run matches ${JSON.stringify(spec)}`, 'XP_RUN_NOT_FOUND')
    return run
  }

  function checkWrite(req: http.IncomingMessage) {
    const given = String(req.headers['x-xp-token'] ?? '')
    const a = Buffer.from(given)
    const b = Buffer.from(token)
    if (a.length !== b.length || !timingSafeEqual(a, b)) throw new Http(403, 'missing or wrong page token', 'XP_FORBIDDEN')
    const origin = req.headers.origin
    if (origin !== undefined && origin !== `http://${req.headers.host}`) throw new Http(403, 'cross-origin request refused', 'XP_FORBIDDEN')
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) throw new Http(415, 'send JSON', 'XP_BAD_REQUEST')
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const p = url.pathname
    const method = req.method ?? 'GET'
    if (await mlflow.handle(req, res, url)) return
    if (method === 'GET' || method === 'HEAD') {
      if (p === '/' || p === '/index.html') return send(res, 200, 'text/html; charset=utf-8', html)
      const asset = assets.get(p)
      if (asset) return send(res, 200, asset.type, asset.body)
      if (p === '/api/version') return sendJson(res, 200, { version: (await cache.currentVersion()) + mlflow.live.version() + liveRuns().version })
      if (p === '/api/runs') {
        const listed = await cache.list()
        const live = mlflow.live.version() ? mlflow.live.runs() : []
        // live runs (the MLflow API's and `xp run`'s, going or lost) first; their writes, ends and losses move the version
        return sendJson(
          res,
          200,
          live.length
            ? JSON.stringify({ version: listed.version + mlflow.live.version() + liveRuns().version, runs: [...live, ...listed.runs].map(slimRun) })
            : listed.json,
        )
      }
      if (p === '/api/registry') return sendJson(res, 200, await registryView(repo))
      if (p === '/api/curves') {
        const all = await allCurves()
        const metric = url.searchParams.get('metric')
        return sendJson(res, 200, metric === null ? { metrics: all.counts } : { metric, curves: all.byMetric.get(metric) ?? {} })
      }
    }
    const m = /^\/api\/runs\/([^/]+)(?:\/(log|files|series|notes|plots|tree|file))?$/.exec(p)
    if (m) {
      let spec: string
      try {
        spec = decodeURIComponent(m[1])
      } catch {
        throw new Http(404, 'not found')
      }
      const what = m[2]
      if (method === 'POST' && what === 'notes') {
        checkWrite(req)
        const body = await readBody(req, MAX_NOTE_BYTES)
        let text: unknown
        try {
          text = JSON.parse(body).text
        } catch {
          throw new Http(400, 'the body must be JSON: {"text": "..."}', 'XP_BAD_REQUEST')
        }
        if (typeof text !== 'string') throw new Http(400, 'the body must be JSON: {"text": "..."}', 'XP_BAD_REQUEST')
        const run = await runFor(spec)
        const { notes } = await noteRun(repo, { run: run.id, text })
        cache.invalidate()
        return sendJson(res, 200, { notes })
      }
      if (method === 'GET' || method === 'HEAD') {
        const live = liveFor(spec)
        if (live) {
          // a live run: its record so far, its series and log as they are now, no files yet
          if (!what) return sendJson(res, 200, live)
          const start = liveStart(repo, live.id)
          if (what === 'log') return send(res, 200, 'text/plain; charset=utf-8', start ? liveLogTail(start) : '')
          if (what === 'series') return sendJson(res, 200, start ? await readLiveSeries(start) : {})
          if (what === 'tree') return sendJson(res, 200, { files: [], truncated: false })
          if (what === 'files') return sendJson(res, 200, [])
          if (what === 'plots') return sendJson(res, 200, { images: [], plots: [] })
        }
        const mlLive = mlflow.live.run(spec)
        if (mlLive && what === 'tree') return sendJson(res, 200, { files: [], truncated: false })
        if (mlLive && what === 'plots') return sendJson(res, 200, { images: [], plots: [] })
        if (mlLive)
          return what === 'log'
            ? send(res, 200, 'text/plain; charset=utf-8', '')
            : sendJson(res, 200, !what ? mlLive : what === 'series' ? mlflow.live.series(spec) : [])
        const run = await runFor(spec)
        if (!what) return sendJson(res, 200, run)
        if (what === 'log') return send(res, 200, 'text/plain; charset=utf-8', await withReader((b) => readRunLog(b, run)))
        if (what === 'files') return sendJson(res, 200, await changedFiles(repo, run))
        if (what === 'series') return sendJson(res, 200, await withReader((b) => readRunSeries(repo, run, b)))
        if (what === 'plots') return sendJson(res, 200, await withReader((b) => readRunPlots(repo, run, b)))
        if (what === 'tree') return sendJson(res, 200, await treeOf(run))
        if (what === 'file') {
          // only a path of this run's own listing is served (docs/ui.md#files)
          const want = url.searchParams.get('path') ?? ''
          const f = (await treeOf(run)).files.find((x) => x.path === want)
          if (!f) throw new Http(404, `run ${run.name} has no file ${JSON.stringify(want)}`, 'XP_FILE_NOT_FOUND')
          return sendRunFile(repo, f, res, { download: url.searchParams.get('download') === '1', head: method === 'HEAD' })
        }
      }
      if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') throw new Http(405, 'method not allowed')
    }
    throw new Http(404, 'not found')
  }

  /** The one entry of every request: the access gate, then the routes. */
  async function serve(req: http.IncomingMessage, res: http.ServerResponse) {
    const g = gate(req)
    if (!g.ok) {
      if ('redirect' in g) {
        res.writeHead(302, { location: g.redirect, 'set-cookie': g.cookie, ...SECURITY_HEADERS })
        return res.end()
      }
      // MLflow clients read MLflow's error shape
      if (isMlflowPath(req.url ?? ''))
        return sendMlflowError(
          res,
          new XpError(g.code, g.message, { data: { mlflow: g.status === 401 ? 'UNAUTHENTICATED' : 'PERMISSION_DENIED', status: g.status } }),
        )
      throw new Http(g.status, g.message, g.code)
    }
    return route(req, res)
  }

  const server = http.createServer((req, res) => {
    serve(req, res).catch((e: unknown) => {
      if (res.headersSent) return res.destroy()
      if (e instanceof Http) return sendJson(res, e.status, { error: { code: e.code, message: e.message } })
      if (isXpError(e)) return sendJson(res, e.httpStatus, { error: { code: e.code, message: e.message } })
      sendJson(res, 500, { error: { code: 'XP_INTERNAL', message: (e as Error)?.message ?? String(e) } })
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE')
        reject(new XpError('XP_PORT_IN_USE', `port ${opts.port} on ${host} is in use`, { hint: 'choose another with --port N (0 picks a free one)' }))
      else if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND')
        reject(new XpError('XP_BAD_HOST', `cannot listen on ${host}`, { hint: 'use --host 127.0.0.1' }))
      else reject(e)
    })
    server.listen(opts.port ?? DEFAULT_PORT, host, () => resolve())
  })
  // Read the runs now, so the first page load does not wait for them; every run's curves a
  // little later (the many-curve panel: ~1.5 s for 10,000 runs here), after the first page.
  cache
    .list()
    .then(() => setTimeout(() => allCurves().catch(() => {}), 1500).unref())
    .catch(() => {})
  const port = (server.address() as AddressInfo).port
  const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host
  return {
    url: `http://${shown}:${port}/${loopback ? '' : `?token=${accessToken}`}`,
    loopback,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        batch?.close()
        mlflow.service.close()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
