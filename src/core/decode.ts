/**
 * Decoders: turn a value read from outside (xp.yaml, .xp/config.local.yaml, queue task
 * files, request bodies, remote answers) into a typed value, or fail with one coded error
 * that names the file and the exact place (`xp.yaml: remotes.storage.url: expected a
 * string, got 1`). Parse, don't cast: past a decoder, core code trusts its types.
 *
 * A decoder is a plain function; they compose. Kept tiny on purpose: a library would cost
 * start-up on every command for what is a hundred lines.
 *
 * @example
 * const Config = object({ params: optional(stringList), remotes: optional(record(object({ url: string }))) })
 * const cfg = decode(Config, parsedYaml, { file: 'xp.yaml' }) // cfg.remotes?.storage.url: string
 */
import { XpError, type ErrorCode } from './errors.js'

/** Thrown inside decoders; `decode` turns it into an XpError with the file and code. */
export class DecodeFailure extends Error {
  constructor(
    readonly at: string,
    readonly expected: string,
    readonly got: unknown,
  ) {
    super(`${at || '(top)'}: expected ${expected}, got ${describe(got)}`)
  }
}

export type Decoder<T> = (v: unknown, at: string) => T

function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return `a list of ${v.length}`
  if (typeof v === 'object') return 'a mapping'
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)
  return String(v)
}

const join = (at: string, key: string | number) => (typeof key === 'number' ? `${at}[${key}]` : at ? `${at}.${key}` : key)

export const string: Decoder<string> = (v, at) => {
  if (typeof v !== 'string') throw new DecodeFailure(at, 'a string', v)
  return v
}

export const nonEmptyString: Decoder<string> = (v, at) => {
  if (typeof v !== 'string' || v === '') throw new DecodeFailure(at, 'a non-empty string', v)
  return v
}

export const number: Decoder<number> = (v, at) => {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new DecodeFailure(at, 'a number', v)
  return v
}

export const integer: Decoder<number> = (v, at) => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new DecodeFailure(at, 'a whole number', v)
  return v
}

export const boolean: Decoder<boolean> = (v, at) => {
  if (typeof v !== 'boolean') throw new DecodeFailure(at, 'true or false', v)
  return v
}

/** Anything at all: for values xp stores as they are (params, metrics). */
export const unknownValue: Decoder<unknown> = (v) => v

export function literal<const T extends string | number | boolean>(...values: T[]): Decoder<T> {
  return (v, at) => {
    if (!values.includes(v as T)) throw new DecodeFailure(at, `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`, v)
    return v as T
  }
}

/** `undefined` and `null` (a YAML key with no value) both decode to undefined. */
export function optional<T>(d: Decoder<T>): Decoder<T | undefined> {
  return (v, at) => (v === undefined || v === null ? undefined : d(v, at))
}

/** `null` kept as null (a field that says "none"), `undefined` refused. */
export function nullable<T>(d: Decoder<T>): Decoder<T | null> {
  return (v, at) => (v === null ? null : d(v, at))
}

export function withDefault<T>(d: Decoder<T>, fallback: T): Decoder<T> {
  return (v, at) => (v === undefined || v === null ? fallback : d(v, at))
}

export function array<T>(d: Decoder<T>): Decoder<T[]> {
  return (v, at) => {
    if (!Array.isArray(v)) throw new DecodeFailure(at, 'a list', v)
    return v.map((x, i) => d(x, join(at, i)))
  }
}

/** A list, or one item standing for a list of one (`params: params.yaml`). */
export function oneOrMany<T>(d: Decoder<T>): Decoder<T[]> {
  const list = array(d)
  return (v, at) => (Array.isArray(v) ? list(v, at) : [d(v, at)])
}

export const stringList: Decoder<string[]> = oneOrMany(string)

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** A mapping with any keys, each value decoded by `d`. */
export function record<T>(d: Decoder<T>): Decoder<Record<string, T>> {
  return (v, at) => {
    if (!isMapping(v)) throw new DecodeFailure(at, 'a mapping', v)
    const out: Record<string, T> = {}
    for (const [k, x] of Object.entries(v)) out[k] = d(x, join(at, k))
    return out
  }
}

type Shape = Record<string, Decoder<unknown>>
type OptionalKeys<S extends Shape> = { [K in keyof S]: undefined extends ReturnType<S[K]> ? K : never }[keyof S]
type Decoded<S extends Shape> = { [K in Exclude<keyof S, OptionalKeys<S>>]: ReturnType<S[K]> } & { [K in OptionalKeys<S>]?: ReturnType<S[K]> }

/**
 * A mapping with known keys. Unknown keys are kept (`rest`) rather than refused, so a newer
 * xp's settings never break an older one; `strict` refuses them.
 */
export function object<S extends Shape>(shape: S, opts: { strict?: boolean } = {}): Decoder<Decoded<S> & Record<string, unknown>> {
  return (v, at) => {
    if (!isMapping(v)) throw new DecodeFailure(at, 'a mapping', v)
    const out: Record<string, unknown> = opts.strict ? {} : { ...v }
    for (const [k, d] of Object.entries(shape)) {
      const x = d(v[k], join(at, k))
      if (x === undefined) delete out[k]
      else out[k] = x
    }
    if (opts.strict) for (const k of Object.keys(v)) if (!(k in shape)) throw new DecodeFailure(join(at, k), 'no such key', v[k])
    return out as Decoded<S> & Record<string, unknown>
  }
}

export function oneOf<A, B>(a: Decoder<A>, b: Decoder<B>, expected: string): Decoder<A | B> {
  return (v, at) => {
    try {
      return a(v, at)
    } catch (e) {
      if (!(e instanceof DecodeFailure)) throw e
    }
    try {
      return b(v, at)
    } catch (e) {
      if (!(e instanceof DecodeFailure)) throw e
      throw new DecodeFailure(at, expected, v)
    }
  }
}

/** Apply a further check or conversion after decoding. */
export function refine<T, U>(d: Decoder<T>, f: (t: T) => U, expected: string): Decoder<U> {
  return (v, at) => {
    const t = d(v, at)
    let u: U
    try {
      u = f(t)
    } catch {
      throw new DecodeFailure(at, expected, v)
    }
    if (u === undefined) throw new DecodeFailure(at, expected, v)
    return u
  }
}

/**
 * Run a decoder; a mismatch becomes an XpError (default XP_BAD_CONFIG) naming the file and
 * the place, with a hint to fix the file.
 */
export function decode<T>(d: Decoder<T>, value: unknown, opts: { file: string; code?: ErrorCode; hint?: string; at?: string }): T {
  try {
    return d(value, opts.at ?? '')
  } catch (e) {
    if (!(e instanceof DecodeFailure)) throw e
    throw new XpError(opts.code ?? 'XP_BAD_CONFIG', `${opts.file}: ${e.message}`, {
      hint: opts.hint ?? `fix ${opts.file} and run again`,
      data: { file: opts.file, at: e.at },
    })
  }
}
