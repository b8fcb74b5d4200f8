/**
 * Turn what a user typed (an id, a unique id prefix of 4+ characters, a name, or a full
 * run ref) into one run. Pure over a list, so it is unit-tested without git.
 */
import { XpError } from '../errors.js'
import { RUNS_PREFIX } from './ref.js'

export interface Resolvable {
  id: string
  name: string
}

/**
 * @example
 * resolveRun(runs, 'brisk-otter') // the run named brisk-otter
 * resolveRun(runs, '01jd')        // the run whose id starts with 01jd, if only one does
 */
export function resolveRun<T extends Resolvable>(runs: T[], spec: string): T {
  const found = findRun(runs, spec)
  if (found) return found
  throw new XpError('XP_RUN_NOT_FOUND', `no run matches ${JSON.stringify(spec)}`, { hint: 'list runs with `xp show`; a prefix needs at least 4 characters' })
}

/** Like resolveRun but returns null when nothing matches (ambiguity still throws). */
export function findRun<T extends Resolvable>(runs: T[], spec: string): T | null {
  const s = spec.startsWith(RUNS_PREFIX) ? spec.slice(RUNS_PREFIX.length) : spec
  const exact = runs.find((r) => r.id === s)
  if (exact) return exact
  const byName = runs.filter((r) => r.name === s)
  const lower = s.toLowerCase()
  const byPrefix = lower.length >= 4 && /^[0-9a-z]+$/.test(lower) ? runs.filter((r) => r.id.startsWith(lower)) : []
  const candidates = [...new Set([...byName, ...byPrefix])]
  if (candidates.length === 1) return candidates[0]
  if (candidates.length > 1)
    throw new XpError(
      'XP_RUN_AMBIGUOUS',
      `${JSON.stringify(spec)} matches ${candidates.length} runs: ${candidates
        .slice(0, 10)
        .map((r) => `${r.name} (${r.id})`)
        .join(', ')}${candidates.length > 10 ? ', …' : ''}`,
      {
        hint: 'use a longer id prefix',
        data: { candidates: candidates.map((r) => r.id) },
      },
    )
  return null
}
