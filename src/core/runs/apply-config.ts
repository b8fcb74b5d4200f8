/**
 * What `xp apply` takes from a run's `xp.yaml` and what it leaves: the run's own settings
 * (command, params, metrics, series, deps, outs, snapshot) travel with its code; settings
 * about the repository, where its data lives and what the registry versions (`remote`,
 * `remotes`, `artifacts`), stay as they are now, so that applying an older run does not
 * drop a data remote or an artifact added since.
 *
 * @example
 * keepRepositoryKeys('outs: [a]\n', 'outs: [b]\nremote: s\nremotes: {s: {url: /x}}\n')
 * // 'outs: [a]\nremote: s\nremotes: {s: {url: /x}}\n'
 */
import { yaml } from '../yaml.js'
import { XpError } from '../errors.js'
import { editText, topEntry } from '../yaml-edit.js'

/** Top-level keys of xp.yaml that describe the repository, not a run. */
export const REPOSITORY_KEYS = ['remote', 'remotes', 'artifacts'] as const

/** The run's xp.yaml text with the repository keys as `current` has them (current null: none). */
export function keepRepositoryKeys(runText: string, current: string | null): string {
  if (current === null) return runText
  try {
    // the usual case: the run differs from now only in repository keys, so now's file stays
    const strip = (t: string) =>
      editText(
        t,
        'xp.yaml',
        REPOSITORY_KEYS.map((key) => ({ op: 'replaceTop' as const, key, source: null })),
      )
    if (strip(runText) === strip(current)) return current
    const keys = REPOSITORY_KEYS.filter((k) => topEntry(runText, k) !== topEntry(current, k))
    // keys the run lacks are appended in the order the current file has them
    keys.sort((a, b) => (current.indexOf(topEntry(current, a) ?? '\0') >>> 0) - (current.indexOf(topEntry(current, b) ?? '\0') >>> 0))
    const edits = keys.map((key) => ({ op: 'replaceTop' as const, key, source: topEntry(current, key) }))
    return edits.length ? editText(runText, 'xp.yaml', edits) : runText
  } catch (e) {
    if (!(e instanceof XpError)) throw e
    // a file in flow style or otherwise unusual: rebuild it (formatting is then the library's)
    const { parseDocument, parse } = yaml()
    const doc = parseDocument(runText)
    let cur: Record<string, unknown>
    try {
      cur = (parse(current) ?? {}) as Record<string, unknown>
    } catch {
      return runText // the current file is broken: the run's is better than a guess
    }
    for (const k of REPOSITORY_KEYS) {
      if (cur[k] === undefined) doc.delete(k)
      else doc.set(k, doc.createNode(cur[k]))
    }
    return doc.toString({ lineWidth: 0 })
  }
}
