/**
 * The layer rules of docs/architecture.md#layers, checked by reading every import in src/.
 * A new import that points up a layer (core -> cli, cache -> runs, ui -> cli, ...) fails
 * here with the file and the import named, before review has to catch it.
 */
import { describe, it, expect } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { ROOT } from './helpers.js'

const SRC = path.join(ROOT, 'src')

interface Import {
  file: string // relative to src/, '/'-separated
  target: string // resolved, relative to src/, or 'node:x' / a package name
  typeOnly: boolean
  line: number
}

function sourceFiles(dir: string): string[] {
  const out: string[] = []
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...sourceFiles(p))
    else if (/\.(ts|mts)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p)
  }
  return out
}

const IMPORT_RE = /^\s*(import|export)\s+(type\s+)?[^'"`]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm

function importsOf(file: string): Import[] {
  const text = fs.readFileSync(file, 'utf8')
  const rel = path.relative(SRC, file).split(path.sep).join('/')
  const out: Import[] = []
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[3] ?? m[4] ?? m[5]
    if (!spec) continue
    const line = text.slice(0, m.index).split('\n').length
    const target = spec.startsWith('.')
      ? path
          .relative(SRC, path.resolve(path.dirname(file), spec))
          .split(path.sep)
          .join('/')
          .replace(/\.js$/, '.ts')
      : spec
    out.push({ file: rel, target, typeOnly: Boolean(m[2]), line })
  }
  return out
}

const ALL = sourceFiles(SRC).flatMap(importsOf)
const under = (p: string, dir: string) => p === dir || p.startsWith(dir + '/')
const show = (v: Import[]) => v.map((i) => `${i.file}:${i.line} imports ${i.target}`)

describe('layers (docs/architecture.md#layers)', () => {
  it('finds the imports it checks', () => {
    // guards the checker itself: a regex that matched nothing would pass every rule below
    expect(ALL.length).toBeGreaterThan(200)
    expect(ALL.some((i) => i.file === 'cli/index.ts' && i.target === 'yargs')).toBe(true)
  })

  it('core, remotes and ui never import cli', () => {
    expect(show(ALL.filter((i) => !under(i.file, 'cli') && under(i.target, 'cli')))).toEqual([])
  })

  it('core never imports ui', () => {
    expect(show(ALL.filter((i) => under(i.file, 'core') && under(i.target, 'ui')))).toEqual([])
  })

  it('cache and remotes never import runs, queue, sync, registry, mlflow or compare', () => {
    const upper = ['core/runs', 'core/queue', 'core/sync', 'core/registry', 'core/mlflow', 'core/compare']
    const bad = ALL.filter((i) => (under(i.file, 'core/cache') || under(i.file, 'remotes')) && upper.some((u) => under(i.target, u)))
    expect(show(bad)).toEqual([])
  })

  it('the pure modules do no I/O', () => {
    // compare/query.ts is compare's one door to git (it loads the runs the pure parts take)
    const pure = (f: string) =>
      [
        'core/compare/diff.ts',
        'core/compare/filter.ts',
        'core/compare/format.ts',
        'core/compare/table.ts',
        'core/registry/fold.ts',
        'core/registry/tag.ts',
        'core/registry/semver.ts',
      ].includes(f)
    const io = (t: string) => /^node:(fs|child_process|net|http|https)/.test(t) || t === 'core/git.ts'
    expect(show(ALL.filter((i) => pure(i.file) && !i.typeOnly && io(i.target)))).toEqual([])
  })

  it('the browser code imports no Node module and no I/O from core', () => {
    const bad = ALL.filter(
      (i) => under(i.file, 'ui/app') && !i.typeOnly && (i.target.startsWith('node:') || (under(i.target, 'core') && !under(i.target, 'core/compare'))),
    )
    expect(show(bad)).toEqual([])
  })
})

describe('core and remotes leave the outside world to cli', () => {
  const files = sourceFiles(SRC)
    .map((f) => path.relative(SRC, f).split(path.sep).join('/'))
    .filter((f) => under(f, 'core') || under(f, 'remotes'))

  it('never print, exit, or read process.env and the cwd', () => {
    const bad: string[] = []
    for (const f of files) {
      const lines = fs.readFileSync(path.join(SRC, f), 'utf8').split('\n')
      lines.forEach((l, n) => {
        const code = l.replace(/\/\/.*$/, '')
        if (/^\s*\*/.test(l)) return // doc comments may show examples
        if (/\bconsole\.|process\.exit\b|process\.env\b|process\.cwd\(\)|process\.stdout|process\.stderr/.test(code)) bad.push(`${f}:${n + 1}: ${l.trim()}`)
      })
    }
    expect(bad).toEqual([])
  })
})
