/**
 * Rendering for `xp show` and `xp diff`: the terminal table, CSV (RFC 4180), GitHub
 * markdown and the JSON array written out run by run (10,000 runs stay fast and small).
 */
import type { ListedRun } from '../core/runs/list.js'
import type { ShowTable } from '../core/compare/table.js'
import type { Change, RunDiff, EnvDiff, EnvChange } from '../core/compare/diff.js'
import { formatCreated, formatNumber, formatValue } from '../core/compare/format.js'
import { renderTable, bold, dim, green, red, yellow } from './output.js'

const statusColour = (s: string) =>
  s === 'succeeded' ? green(s) : s === 'failed' || s === 'lost' ? red(s) : s === 'interrupted' || s === 'running' ? yellow(s) : s
const oneLine = (s: string, max: number) => {
  if (s.length <= max && !s.includes('\n')) return s
  const line = s.split('\n')[0] ?? ''
  return line.length > max || s.includes('\n') ? line.slice(0, max - 1) + '…' : line
}

/**
 * Leave out columns from the right (notes, params, then metrics; never name, created,
 * status, duration) until the table fits `width`; returns the labels left out.
 */
export function fitColumns(t: ShowTable, width: number): { table: ShowTable; hidden: string[] } {
  const widths = t.columns.map((c, i) => Math.min(40, Math.max(c.label.length, ...t.text.map((r) => r[i]?.length ?? 0))))
  let keep = t.columns.length
  let total = widths.reduce((a, w) => a + w + 2, -2)
  const droppable = (i: number) => t.columns[i]?.kind !== 'field' || t.columns[i]?.key === 'notes'
  while (total > width && keep > 0 && droppable(keep - 1)) {
    keep--
    total -= (widths[keep] ?? 0) + 2
  }
  if (keep === t.columns.length) return { table: t, hidden: [] }
  return {
    table: { ...t, columns: t.columns.slice(0, keep), values: t.values.map((r) => r.slice(0, keep)), text: t.text.map((r) => r.slice(0, keep)) },
    hidden: t.columns.slice(keep).map((c) => c.label),
  }
}

/** The table people read in a terminal. */
export function showText(t: ShowTable): string {
  const header = t.columns.map((c) => c.label)
  const rows = t.text.map((row) =>
    row.map((cell, i) => {
      const key = t.columns[i]?.key
      if (key === 'status') return statusColour(cell)
      // long strings (paths, commands) would push every other column off the screen
      return oneLine(cell, 40)
    }),
  )
  return renderTable(header, rows, { rightAlign: t.columns.map((c) => c.numeric) })
}

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled; CRLF. */
export function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v
}

/** CSV with full keys in the header and raw values (full precision, ISO times). */
export function showCsv(t: ShowTable): string {
  const cols = [{ key: 'id' }, ...t.columns]
  const raw = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'string' ? v : typeof v === 'number' ? String(v) : JSON.stringify(v))
  const lines = [cols.map((c) => csvField(c.key)).join(',')]
  t.runs.forEach((r, i) => {
    lines.push([r.id, ...(t.values[i] ?? [])].map((v) => csvField(raw(v))).join(','))
  })
  return lines.join('\r\n') + '\r\n'
}

/** A markdown table cell: pipes escaped, line breaks as <br>. */
export function mdCell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>')
}

function mdTable(header: string[], rows: string[][], numeric: boolean[]): string {
  const out = [`| ${header.map(mdCell).join(' | ')} |`, `|${numeric.map((n) => (n ? ' ---: ' : ' --- ')).join('|')}|`]
  for (const r of rows) out.push(`| ${r.map(mdCell).join(' | ')} |`)
  return out.join('\n') + '\n'
}

/** A GitHub-flavoured markdown table of the runs. */
export function showMarkdown(t: ShowTable): string {
  return mdTable(
    t.columns.map((c) => c.label),
    t.text,
    t.columns.map((c) => c.numeric),
  )
}

/**
 * Runs as one JSON array, one run per line (10,000 runs are 7 MB: indenting them would
 * double the bytes and the time), written a slice at a time while runs are still listed.
 *
 * @example
 * const w = jsonArrayWriter(); w.add(Buffer.from('{"a":1}')); w.end()
 */
export function jsonArrayWriter(out: { write: (b: Buffer) => unknown } = process.stdout) {
  const OPEN = Buffer.from('[\n')
  const SEP = Buffer.from(',\n')
  const CLOSE = Buffer.from('\n]\n')
  let parts: Buffer[] = []
  let started = false
  const flush = (last: boolean) => {
    if (!started && !parts.length) {
      if (last) out.write(Buffer.from('[]\n'))
      return
    }
    if (last) parts.push(CLOSE)
    out.write(Buffer.concat(parts))
    parts = []
  }
  return {
    add(json: Buffer) {
      parts.push(started ? SEP : OPEN, json)
      started = true
      if (parts.length >= 1024) flush(false)
    },
    end: () => flush(true),
  }
}

function changeText(c: Change): string {
  if (c.diff === null) return c.old === null || c.new === null ? (c.old === null ? 'added' : 'removed') : c.old === c.new ? '' : 'changed'
  if (c.diff === 0) return '0'
  const sign = c.diff > 0 ? '+' : ''
  const pct = c.pct === undefined ? '' : ` (${c.pct > 0 ? '+' : ''}${formatNumber(c.pct, 3)}%)`
  return `${sign}${formatNumber(c.diff)}${pct}`
}

const side = (v: unknown, present: boolean) => (present ? formatValue(v) : '-')

function diffRows(changes: Record<string, Change> | undefined, a: ListedRun, b: ListedRun, group: 'params' | 'metrics' | 'tags'): string[][] {
  return Object.entries(changes ?? {}).map(([k, c]) => [k, side(c.old, k in (a[group] ?? {})), side(c.new, k in (b[group] ?? {})), changeText(c)])
}

const runLabel = (r: ListedRun) => `${r.name} (${r.id})`

/** The side-by-side text of `xp diff`. */
function envRows(changes: Record<string, EnvChange>): string[][] {
  return Object.entries(changes).map(([k, c]) => [
    k,
    c.old ?? '-',
    c.new ?? '-',
    c.old === null ? 'added' : c.new === null ? 'removed' : c.old === c.new ? '' : 'changed',
  ])
}

/** The environment part of `xp diff --env`, as text tables or markdown. */
function envText(e: EnvDiff, names: string[], md: boolean): string[] {
  const out: string[] = []
  const groups: Array<[string, Record<string, EnvChange> | undefined]> = [
    ['environment', e.env],
    ['package', e.packages],
  ]
  for (const [label, ch] of groups) {
    if (!ch) continue
    const rows = envRows(ch)
    if (!rows.length) {
      out.push(label === 'package' ? 'no Python package changed' : 'no environment fact changed', '')
      continue
    }
    out.push(
      md
        ? mdTable([label === 'package' ? 'Package' : 'Environment', ...names, 'Change'], rows, [false, false, false, false])
        : renderTable([label, ...names, 'change'], rows).trimEnd(),
      '',
    )
  }
  if (!e.packages) out.push('neither run recorded Python packages', '')
  return out
}

export function diffText(d: RunDiff<ListedRun> & { code?: string; env?: EnvDiff }, opts: { all?: boolean } = {}): string {
  const out: string[] = []
  for (const [tag, r] of [
    ['a', d.a],
    ['b', d.b],
  ] as const) {
    out.push(`${bold(tag + ':')} ${runLabel(r)}  ${dim(formatCreated(r.started))}  ${statusColour(r.status)}`)
    if (r.notes) for (const line of r.notes.split('\n')) out.push(`   ${dim('note:')} ${line}`)
  }
  out.push('')
  const header = (group: string) => [group, d.a.name === d.b.name ? 'a' : d.a.name, d.a.name === d.b.name ? 'b' : d.b.name, 'change']
  let any = false
  for (const group of ['metrics', 'params', 'tags'] as const) {
    const rows = diffRows(d[group], d.a, d.b, group)
    if (!rows.length) continue
    any = true
    out.push(
      renderTable(header(group === 'metrics' ? 'metric' : group === 'params' ? 'param' : 'tag'), rows, { rightAlign: [false, true, true, true] }).trimEnd(),
      '',
    )
  }
  if (!any) out.push(opts.all ? 'neither run has params or metrics' : 'no param or metric changed (--all shows unchanged ones too)', '')
  if (d.code !== undefined) out.push(bold('code:'), d.code.trimEnd() || 'no file changed', '')
  if (d.env) out.push(...envText(d.env, [d.a.name === d.b.name ? 'a' : d.a.name, d.a.name === d.b.name ? 'b' : d.b.name], false))
  return out.join('\n')
}

/** `xp diff --md`: a pull-request comment. */
export function diffMarkdown(d: RunDiff<ListedRun> & { code?: string; env?: EnvDiff }): string {
  const out: string[] = [`**xp diff** \`${d.a.name}\` (${d.a.id}) → \`${d.b.name}\` (${d.b.id})`, '']
  for (const r of [d.a, d.b]) if (r.notes) out.push(`> **${mdCell(r.name)}**: ${mdCell(r.notes)}`, '')
  const names = [d.a.name === d.b.name ? 'a' : d.a.name, d.a.name === d.b.name ? 'b' : d.b.name]
  let any = false
  for (const group of ['metrics', 'params', 'tags'] as const) {
    const rows = diffRows(d[group], d.a, d.b, group)
    if (!rows.length) continue
    any = true
    out.push(mdTable([group === 'metrics' ? 'Metric' : group === 'params' ? 'Param' : 'Tag', ...names, 'Change'], rows, [false, true, true, true]))
  }
  if (!any) out.push('No param or metric changed.', '')
  if (d.code !== undefined) out.push('```', d.code.trimEnd() || 'no file changed', '```', '')
  if (d.env) out.push(...envText(d.env, names, true))
  return out.join('\n').trimEnd() + '\n'
}
