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
