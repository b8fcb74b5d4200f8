/// <reference lib="dom" />
/**
 * A run's files on its page, and the same image in several runs side by side on the
 * compare page. Images (svg too) are shown only as <img> (an SVG's script never runs in
 * an image), text as text, CSV/TSV as a small table, JSON pretty-printed, big or binary
 * files as size, hash and a download link. Every byte comes from /api/runs/RUN/file,
 * which serves only the run's own listed files.
 */
import { el } from './dom.js'
import { api, type RunFile } from './api.js'

const IMAGE = /\.(png|jpe?g|gif|webp|bmp|svg)$/i
const TABLE = /\.(csv|tsv)$/i
const TEXT = /\.(txt|log|md|ya?ml|json|jsonl|py|js|ts|toml|cfg|ini|sh|xp|html?|xml|r|ipynb)$|(^|\/)(Dockerfile|Makefile|\.gitignore|README|LICENSE)$/i
/** Shown inline up to this size; bigger files are a download. */
const INLINE_TEXT = 512 * 1024
const INLINE_IMAGE = 8 * 1024 * 1024
const TABLE_ROWS = 50
/** Images shown at once in the gallery. */
const GALLERY = 24

export const fileUrl = (runId: string, p: string, download = false) =>
  `/api/runs/${encodeURIComponent(runId)}/file?path=${encodeURIComponent(p)}${download ? '&download=1' : ''}`

export function formatSize(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let i = -1
  do {
    v /= 1024
    i++
  } while (v >= 1024 && i < units.length - 1)
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`
}

/** A delimited table's first rows (quotes as in RFC 4180, enough for a preview). */
export function parseDelimited(text: string, sep: string, max = TABLE_ROWS + 1): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cur = ''
  let quoted = false
  for (let i = 0; i < text.length && rows.length < max; i++) {
    const ch = text[i]
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (cur += '"'), i++
      else if (ch === '"') quoted = false
      else cur += ch
    } else if (ch === '"' && cur === '') quoted = true
    else if (ch === sep) row.push(cur), (cur = '')
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++
      row.push(cur)
      cur = ''
      if (row.length > 1 || row[0] !== '') rows.push(row)
      row = []
    } else cur += ch
  }
  if ((cur !== '' || row.length) && rows.length < max) rows.push([...row, cur])
  return rows
}

function image(runId: string, f: RunFile): HTMLElement {
  // <img> only: an SVG drawn as an image runs no script and loads nothing
  return el('img', { class: 'file-image', attrs: { src: fileUrl(runId, f.path), alt: f.path, loading: 'lazy', 'data-path': f.path } })
}

function bigFile(runId: string, f: RunFile): HTMLElement {
  return el(
    'div',
    'file-big',
    el('span', {}, formatSize(f.size)),
    ' · ',
    el('code', 'oid', f.oid),
    ' · ',
    f.missing
      ? el('span', 'muted', 'not in this cache: `xp pull` fetches it')
      : el('a', { attrs: { href: fileUrl(runId, f.path, true), download: f.path.split('/').pop() } }, 'download'),
  )
}

/** The preview of one file. */
async function preview(runId: string, f: RunFile): Promise<HTMLElement> {
  const box = el('div', { class: 'file-preview', attrs: { 'data-path': f.path } }, el('h4', {}, f.path))
  if (f.missing) return (box.append(bigFile(runId, f)), box)
  if (IMAGE.test(f.path) && f.size <= INLINE_IMAGE) return (box.append(image(runId, f), bigFile(runId, f)), box)
  if ((TEXT.test(f.path) || TABLE.test(f.path)) && f.size <= INLINE_TEXT) {
    const res = await fetch(fileUrl(runId, f.path))
    const text = await res.text()
    if (TABLE.test(f.path)) {
      const rows = parseDelimited(text, /\.tsv$/i.test(f.path) ? '\t' : ',')
      const [head = [], ...body] = rows
      box.append(
        el(
          'table',
          'file-table',
          el('thead', {}, el('tr', {}, ...head.map((h) => el('th', {}, h)))),
          el(
            'tbody',
            {},
            ...body.slice(0, TABLE_ROWS).map((r) => el('tr', {}, ...r.map((c) => el('td', c !== '' && !Number.isNaN(Number(c)) ? 'num' : '', c)))),
          ),
        ),
      )
      if (body.length > TABLE_ROWS || text.split('\n').length > TABLE_ROWS + 2) box.append(el('p', 'muted', `first ${TABLE_ROWS} rows`))
    } else {
      let shown = text
      if (/\.json$/i.test(f.path)) {
        try {
          shown = JSON.stringify(JSON.parse(text), null, 2)
        } catch {
          // shown as it is
        }
      }
      box.append(el('pre', 'file-text', shown))
    }
    box.append(bigFile(runId, f))
    return box
  }
  box.append(bigFile(runId, f))
  return box
}

/**
 * The files section of a run page: a gallery of its images, the list of every file
 * (click one to see it), pointers shown as the data they stand for.
 */
export function filesSection(runId: string): HTMLElement {
  const root = el('div', 'run-files', el('p', 'muted', 'loading…'))
  void api.tree(runId).then(
    ({ files, truncated }) => {
      root.replaceChildren()
      if (!files.length) return root.append(el('p', 'muted', 'no files'))
      // DVCLive's plot images are drawn under "Plots and images" already; the list below has them
      const images = files.filter((f) => IMAGE.test(f.path) && !f.missing && f.size <= INLINE_IMAGE && !/(^|\/)dvclive\/plots\//.test(f.path))
      if (images.length) {
        const gallery = el('div', 'gallery')
        for (const f of images.slice(0, GALLERY)) gallery.append(el('figure', {}, image(runId, f), el('figcaption', {}, f.path)))
        root.append(gallery)
        if (images.length > GALLERY) root.append(el('p', 'muted', `${images.length - GALLERY} more images in the list below`))
      }
      const pane = el('div', 'file-pane')
      const list = el('table', 'files-list')
      const body = el('tbody')
      for (const f of files) {
        const a = el('a', { class: 'file-link', attrs: { href: '#', 'data-path': f.path } }, f.path)
        a.addEventListener('click', (e: Event) => {
          e.preventDefault()
          for (const r of body.querySelectorAll('tr.open')) r.classList.remove('open')
          tr.classList.add('open')
          pane.replaceChildren(el('p', 'muted', 'loading…'))
          preview(runId, f).then(
            (node) => pane.replaceChildren(node),
            (err) => pane.replaceChildren(el('p', 'error', String(err?.message ?? err))),
          )
        })
        const where = f.source === 'cache' ? (f.missing ? 'cache (missing)' : 'cache') : 'git'
        const tr = el(
          'tr',
          {},
          el('td', {}, a),
          el('td', 'num', formatSize(f.size)),
          el('td', 'muted', where),
          el('td', 'muted', f.pointer ? `via ${f.pointer}` : ''),
        )
        body.append(tr)
      }
      list.append(el('thead', {}, el('tr', {}, el('th', {}, 'path'), el('th', {}, 'size'), el('th', {}, 'from'), el('th', {}, ''))), body)
      root.append(el('div', 'files-split', el('div', 'files-scroll', list), pane))
      if (truncated) root.append(el('p', 'muted', 'the list stops at 20,000 files'))
    },
    (e) => root.replaceChildren(el('p', 'error', String(e?.message ?? e))),
  )
  return root
}

/**
 * The images that two or more of the runs have at the same path, one row per path, the
 * runs side by side.
 */
export async function compareImages(runs: Array<{ id: string; name: string }>): Promise<HTMLElement | null> {
  const trees = await Promise.all(runs.map((r) => api.tree(r.id).catch(() => ({ files: [] as RunFile[], truncated: false }))))
  const byPath = new Map<string, Array<RunFile | undefined>>()
  trees.forEach((t, i) => {
    for (const f of t.files) {
      if (!IMAGE.test(f.path) || f.missing || f.size > INLINE_IMAGE) continue
      const row = byPath.get(f.path) ?? new Array(runs.length).fill(undefined)
      row[i] = f
      byPath.set(f.path, row)
    }
  })
  const shared = [...byPath].filter(([, row]) => row.filter(Boolean).length >= 2).sort(([a], [b]) => (a < b ? -1 : 1))
  if (!shared.length) return null
  const root = el('div', 'image-compare')
  for (const [p, row] of shared.slice(0, GALLERY)) {
    const cells = row.map((f, i) => el('figure', {}, f ? image(runs[i].id, f) : el('div', 'muted no-image', 'none'), el('figcaption', {}, runs[i].name)))
    const same = row.every((f) => !f || f.oid === row.find(Boolean)!.oid)
    root.append(
      el(
        'div',
        { class: 'image-row', attrs: { 'data-path': p } },
        el('h4', {}, p, same ? el('span', 'muted', ' (identical in every run)') : ''),
        el('div', 'image-cells', ...cells),
      ),
    )
  }
  return root
}

/** The Python packages the run's interpreter had (`.xp-run/packages.txt`), when it recorded them. */
export function packagesSection(runId: string): HTMLElement {
  const root = el('div', 'run-packages')
  void api.tree(runId).then(async ({ files }) => {
    const f = files.find((x) => x.path === '.xp-run/packages.txt')
    if (!f) return root.append(el('p', 'muted', 'none recorded (the command does not start Python)'))
    const text = await (await fetch(fileUrl(runId, f.path))).text()
    const rows = text
      .split('\n')
      .filter((l) => l.includes('=='))
      .map((l) => l.split('=='))
    root.append(
      el('p', 'muted', `${rows.length} packages`),
      el('div', 'packages', el('table', 'packages-table', el('tbody', {}, ...rows.map(([n, v]) => el('tr', {}, el('td', {}, n), el('td', {}, v)))))),
    )
  })
  return root
}
