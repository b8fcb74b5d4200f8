/**
 * A copy of a JSON value with the keys of every object sorted (arrays keep their order):
 * the one form of `--json` output and of the record index, so equal data prints equally.
 *
 * @example
 * JSON.stringify(sortKeys({ b: 1, a: { d: 2, c: 3 } })) // '{"a":{"c":3,"d":2},"b":1}'
 */
export function sortKeys(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || v instanceof Date) return v
  if (Array.isArray(v)) return v.map(sortKeys)
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k])
  return out
}

const NF = '\u0000xp-number:'
const NF_QUOTED = /"\\u0000xp-number:(NaN|Infinity|-Infinity)"/g
const NF_TOKENS = /"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g

/**
 * JSON.stringify that keeps NaN and ±Infinity as the bare tokens `NaN`, `Infinity` and
 * `-Infinity`, as Python's `json.dump` writes them (and DVC and MLflow read them), instead
 * of turning them into `null`. Used for run records, the record index and `--json`.
 *
 * @example
 * stringifyJson({ loss: NaN }) // '{"loss":NaN}'
 */
export function stringifyJson(v: unknown, indent?: number): string {
  let nonFinite = false
  const text = JSON.stringify(
    v,
    (_k, x) => {
      if (typeof x === 'number' && !Number.isFinite(x)) {
        nonFinite = true
        return NF + String(x)
      }
      return x
    },
    indent,
  )
  return nonFinite ? text.replace(NF_QUOTED, '$1') : text
}

/**
 * JSON.parse that also reads bare `NaN`, `Infinity` and `-Infinity` (Python's json output,
 * stringifyJson's); strict JSON takes the fast path untouched.
 *
 * @example
 * parseJson('{"loss": NaN}') // { loss: NaN }
 */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (e) {
    if (!/NaN|Infinity/.test(text)) throw e
    let swapped = false
    const marked = text.replace(NF_TOKENS, (m) => {
      if (m.charCodeAt(0) === 34) return m
      swapped = true
      return `"\\u0000xp-number:${m}"`
    })
    if (!swapped) throw e
    return JSON.parse(marked, (_k, x) => (typeof x === 'string' && x.startsWith(NF) ? Number(x.slice(NF.length)) : x))
  }
}
