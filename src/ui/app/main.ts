/// <reference lib="dom" />
/**
 * The page of `xp ui`: a hash router over the runs table, the compare view, a run's page
 * and the registry. It polls /api/version and reloads the runs when refs/xp moves.
 */
import { el, clear } from './dom.js'
import { api, ApiError } from './api.js'
import { RunsTable, initialState } from './runs-table.js'
import { compareView } from './compare.js'
import { runPage } from './run-page.js'
import { registryPage } from './registry-page.js'
import { Analysis } from './analysis.js'
import type { RunRow } from '../table.js'

const POLL_MS = 2000

const state = { runs: [] as RunRow[], version: '', table: initialState() }
const app = document.getElementById('app')!
const main = el('main')
const status = el('span', 'live muted')
const nav = el(
  'header',
  'top',
  el('a', { class: 'brand', attrs: { href: '#/' } }, 'xp'),
  el('nav', {}, el('a', { attrs: { href: '#/', 'data-nav': 'runs' } }, 'Runs'), el('a', { attrs: { href: '#/registry', 'data-nav': 'registry' } }, 'Registry')),
  status,
)
app.append(nav, main)

const table = new RunsTable(
  state.table,
  (ids) => (location.hash = `#/compare/${ids.map(encodeURIComponent).join(',')}`),
  (base, shown) => analysis.setRuns(base, shown, state.version),
)
const analysis = new Analysis({ setBrush: (pred) => table.setBrush(pred) })
table.addPanel(analysis.root)
let renderSeq = 0

function errorBox(e: unknown): HTMLElement {
  const msg = e instanceof ApiError ? `${e.message} [${e.code}]` : String((e as Error)?.message ?? e)
  return el('div', { class: 'error', attrs: { role: 'alert' } }, msg)
}

/**
 * The runs a compare URL names, as `xp` takes them: ids, names (`#/compare/curve-1,curve-3`)
 * or unique id prefixes. What is not an id of a listed run is resolved by the server, so
 * an unknown or ambiguous name is the same error as on the command line.
 */
async function resolveRuns(specs: string[]): Promise<RunRow[]> {
  const byId = new Map(state.runs.map((r) => [r.id, r]))
  const ids = await Promise.all(specs.map(async (s) => (byId.has(s) ? s : (await api.run(s)).id)))
  return [...new Set(ids)].map((id) => byId.get(id)).filter((r): r is RunRow => !!r)
}

async function route() {
  const seq = ++renderSeq
  const hash = location.hash.replace(/^#\/?/, '')
  const [view, arg = ''] = hash.split('/')
  for (const a of nav.querySelectorAll('[data-nav]')) a.classList.toggle('active', a.getAttribute('data-nav') === (view === 'registry' ? 'registry' : 'runs'))
  const show = (node: Node) => {
    if (seq !== renderSeq) return
    clear(main)
    main.append(node)
  }
  try {
    if (view === 'compare') {
      const specs = arg.split(',').map(decodeURIComponent).filter(Boolean)
      const runs = await resolveRuns(specs)
      if (runs.length < 2) return show(el('div', 'error', 'Select two or more runs to compare.'))
      show(el('p', 'muted', 'loading…'))
      show(await compareView(runs, state.runs))
    } else if (view === 'run') {
      show(el('p', 'muted', 'loading…'))
      show(await runPage(decodeURIComponent(arg)))
    } else if (view === 'registry') {
      show(await registryPage(state.runs))
      if (arg) document.getElementById(`artifact-${decodeURIComponent(arg)}`)?.scrollIntoView()
    } else {
      show(table.root)
      table.redraw()
    }
  } catch (e) {
    show(errorBox(e))
  }
}

async function loadRuns() {
  const { version, runs } = await api.runs()
  state.version = version
  state.runs = runs
  table.setRuns(runs)
  status.textContent = `${runs.length} runs`
}

async function poll() {
  try {
    const v = await api.version()
    if (v !== state.version) {
      await loadRuns()
      // the table redraws itself; the registry is redrawn; a compare or run page keeps its place
      if (location.hash.startsWith('#/registry')) await route()
    }
    status.classList.remove('offline')
  } catch {
    status.textContent = 'server not reachable'
    status.classList.add('offline')
  }
  setTimeout(poll, POLL_MS)
}

async function start() {
  try {
    await loadRuns()
  } catch (e) {
    main.append(errorBox(e))
    return
  }
  window.addEventListener('hashchange', () => void route())
  await route()
  performance.mark('xp-ready')
  document.body.dataset.ready = '1'
  setTimeout(poll, POLL_MS)
}

void start()
