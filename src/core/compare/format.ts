/**
 * How values look in tables: numbers with 5 significant digits like DVC (Python's `.5g`),
 * integers as they are, missing values as `-`. Pure, shared by `xp show`, `xp diff` and
 * the web page.
 */

export const MISSING_TEXT = '-'

/**
 * Python's `format(x, '.5g')`: fixed notation unless the exponent is below -4 or at
 * least 5, trailing zeros removed; integers are shown whole, as DVC does.
 *
 * @example
 * formatNumber(0.912345) // '0.91234'
 * formatNumber(1234567.8) // '1.2346e+06'
 */
export function formatNumber(n: number, digits = 5): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'nan' : n > 0 ? 'inf' : '-inf'
  if (Number.isInteger(n) && Math.abs(n) < 1e15) return String(n)
  const [mant, expText] = n.toExponential(digits - 1).split('e')
  const exp = Number(expText)
  if (exp < -4 || exp >= digits) {
    const m = mant.includes('.') ? mant.replace(/\.?0+$/, '') : mant
    return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`
  }
  const fixed = n.toFixed(Math.max(0, digits - 1 - exp))
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed
}

/** Any recorded value as table text. */
export function formatValue(v: unknown): string {
  if (v === undefined) return MISSING_TEXT
  if (v === null) return 'null'
  if (typeof v === 'number') return formatNumber(v)
  if (typeof v === 'string') return v
  return JSON.stringify(v)
}

/** `2026-11-23T15:30:00.123Z` as `2026-11-23 15:30:00` (UTC, as recorded). */
export function formatCreated(iso: string | undefined): string {
  if (!iso) return MISSING_TEXT
  return iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '')
}

/** Seconds as `12.3s`, `4m05s`, `2h03m`. */
export function formatDuration(s: number | undefined): string {
  if (typeof s !== 'number' || !Number.isFinite(s)) return MISSING_TEXT
  if (s < 60) return `${s < 10 ? s.toFixed(2).replace(/\.?0+$/, '') : s.toFixed(1).replace(/\.0$/, '')}s`
  const total = Math.round(s)
  if (total < 3600) return `${Math.floor(total / 60)}m${String(total % 60).padStart(2, '0')}s`
  return `${Math.floor(total / 3600)}h${String(Math.floor((total % 3600) / 60)).padStart(2, '0')}m`
}
