/**
 * Compare two runs' params and metrics (`xp diff`). Pure: the shape is docs/architecture.md#command-line's
 * `{a, b, params: {KEY: {old, new, diff}}, metrics: {...}}`, with `a` the older side.
 */
import type { Flat, Scalar } from '../values.js'

export interface Change {
  /** the value in run a; null when a lacks the key */
  old: Scalar
  /** the value in run b; null when b lacks the key */
  new: Scalar
  /** new minus old when both are numbers, else null */
  diff: number | null
  /** the change in percent of |old|, when both are numbers and old is not 0 */
  pct?: number
}

export interface RunDiff<R> {
  a: R
  b: R
  params: Record<string, Change>
  metrics: Record<string, Change>
  /** present when either run has tags (MLflow's set_tag) */
  tags?: Record<string, Change>
}

/** Floating-point noise from subtraction (0.3 - 0.1) cut to 12 significant digits. */
const tidy = (n: number) => (Number.isFinite(n) ? Number(n.toPrecision(12)) : n)

/**
 * Changes between two flat maps; keys on one side only get null on the other. With
 * `all`, unchanged keys are included too.
 *
 * @example
 * diffFlat({ lr: 0.1 }, { lr: 0.01, depth: 4 }) // { lr: {old: 0.1, new: 0.01, diff: -0.09, pct: -90}, depth: {old: null, new: 4, diff: null} }
 */
export function diffFlat(a: Flat, b: Flat, opts: { all?: boolean } = {}): Record<string, Change> {
  const out: Record<string, Change> = {}
  const has = (o: Flat, k: string) => Object.hasOwn(o, k)
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])]
  for (const k of keys) {
    const inA = has(a, k)
    const inB = has(b, k)
    const oldV = inA ? a[k] : null
    const newV = inB ? b[k] : null
    if (inA && inB && oldV === newV && !opts.all) continue
    const c: Change = { old: oldV, new: newV, diff: null }
    if (typeof oldV === 'number' && typeof newV === 'number') {
      c.diff = tidy(newV - oldV)
      if (oldV !== 0) c.pct = tidy(((newV - oldV) / Math.abs(oldV)) * 100)
    }
    out[k] = c
  }
  return out
}

/**
 * Compare run a (old) with run b (new).
 *
 * @example
 * diffRuns(first, best).metrics.acc // { old: 0.81, new: 0.93, diff: 0.12, pct: 14.81... }
 */
export function diffRuns<R extends { params: Flat; metrics: Flat; tags?: Record<string, string> }>(a: R, b: R, opts: { all?: boolean } = {}): RunDiff<R> {
  const out: RunDiff<R> = { a, b, params: diffFlat(a.params, b.params, opts), metrics: diffFlat(a.metrics, b.metrics, opts) }
  if (a.tags || b.tags) out.tags = diffFlat(userTags(a.tags), userTags(b.tags), opts)
  return out
}

/** Tags a person set: MLflow's own `mlflow.*` tags (source, user, model history) are left out of tables and diffs. */
export function userTags(tags: Record<string, string> | undefined): Flat {
  const out: Flat = {}
  for (const k in tags ?? {}) if (!k.startsWith('mlflow.')) out[k] = tags![k]
  return out
}

/** One side's value of an environment fact or a package version; null when that side lacks it. */
export interface EnvChange {
  old: string | null
  new: string | null
}

export interface EnvDiff {
  /** host, os, node, python, git, cpus, and the recorded variables as `vars.NAME` */
  env: Record<string, EnvChange>
  /** Python packages by name (`xp diff --env`); absent when neither run recorded any */
  packages?: Record<string, EnvChange>
}

function flatEnv(env: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(env ?? {})) {
    if (v === null || v === undefined) continue
    if (k === 'vars' && typeof v === 'object') for (const [n, x] of Object.entries(v as Record<string, unknown>)) out[`vars.${n}`] = String(x)
    else out[k] = typeof v === 'object' ? JSON.stringify(v) : String(v)
  }
  return out
}

function changes(a: Record<string, string>, b: Record<string, string>, all: boolean): Record<string, EnvChange> {
  const out: Record<string, EnvChange> = {}
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const o = a[k] ?? null
    const n = b[k] ?? null
    if (all || o !== n) out[k] = { old: o, new: n }
  }
  return out
}

/**
 * What changed in the environment between two runs: the recorded facts and variables, and
 * the Python packages (name to version) when either run recorded them.
 *
 * @example
 * diffEnv({ node: 'v20.1.0' }, { node: 'v20.2.0' }, { numpy: '1.26.4' }, { numpy: '2.0.0' })
 * // { env: { node: { old: 'v20.1.0', new: 'v20.2.0' } }, packages: { numpy: { old: '1.26.4', new: '2.0.0' } } }
 */
export function diffEnv(
  a: Record<string, unknown> | undefined,
  b: Record<string, unknown> | undefined,
  pa: Record<string, string> | null,
  pb: Record<string, string> | null,
  opts: { all?: boolean } = {},
): EnvDiff {
  const out: EnvDiff = { env: changes(flatEnv(a), flatEnv(b), !!opts.all) }
  if (pa || pb) out.packages = changes(pa ?? {}, pb ?? {}, !!opts.all)
  return out
}
