/// <reference lib="dom" />
/** The page's side of the server's JSON API. */
import type { RegistryView } from '../registry-view.js'
import type { RunRow } from '../table.js'
import type { RunSeries } from '../series.js'
import type { RunPlots } from '../dvc-plots.js'

export interface FullRun extends RunRow {
  exit_code: number | null
  command: string
  message?: string
  ended: string
  branch: string | null
  series: string[]
  deps: Record<string, { oid: string; size: number; files?: number }>
  outs: Record<string, { oid: string; size: number; files?: number }>
  env: Record<string, unknown>
  error_tail?: string
  ref: string
  /** MLflow's experiment and tags, for runs that have them */
  experiment?: string
  tags?: Record<string, string>
}

/** One file of a run (src/ui/files.ts): git's tree with pointers resolved. */
export interface RunFile {
  path: string
  size: number
  oid: string
  source: 'git' | 'cache'
  pointer?: string
  missing?: boolean
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

async function get(path: string): Promise<Response> {
  const res = await fetch(path, { headers: { accept: 'application/json' } })
  if (!res.ok) {
    let body: { error?: { code?: string; message?: string } } | null = null
    try {
      body = await res.json()
    } catch {
      // not JSON: keep the status
    }
    throw new ApiError(res.status, body?.error?.code ?? 'XP_HTTP', body?.error?.message ?? `${res.status} ${res.statusText}`)
  }
  return res
}

const enc = encodeURIComponent
export const api = {
  version: async (): Promise<string> => (await (await get('/api/version')).json()).version,
  runs: async (): Promise<{ version: string; runs: RunRow[] }> => (await get('/api/runs')).json(),
  run: async (id: string): Promise<FullRun> => (await get(`/api/runs/${enc(id)}`)).json(),
  log: async (id: string): Promise<string> => (await get(`/api/runs/${enc(id)}/log`)).text(),
  files: async (id: string): Promise<Array<{ status: string; path: string }>> => (await get(`/api/runs/${enc(id)}/files`)).json(),
  series: async (id: string): Promise<RunSeries> => (await get(`/api/runs/${enc(id)}/series`)).json(),
  tree: async (id: string): Promise<{ files: RunFile[]; truncated: boolean }> => (await get(`/api/runs/${enc(id)}/tree`)).json(),
  plots: async (id: string): Promise<RunPlots> => (await get(`/api/runs/${enc(id)}/plots`)).json(),
  registry: async (): Promise<RegistryView | { available: false }> => (await get('/api/registry')).json(),
  addNote: async (id: string, text: string): Promise<string> => {
    const token = document.querySelector('meta[name="xp-token"]')?.getAttribute('content') ?? ''
    const res = await fetch(`/api/runs/${enc(id)}/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-xp-token': token },
      body: JSON.stringify({ text }),
    })
    const body = await res.json().catch(() => null)
    if (!res.ok) throw new ApiError(res.status, body?.error?.code ?? 'XP_HTTP', body?.error?.message ?? String(res.status))
    return body.notes
  },
}
