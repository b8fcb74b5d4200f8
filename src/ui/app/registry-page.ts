/// <reference lib="dom" />
/** The model registry (GTO tags): artifacts, their versions, stages and history. */
import { el } from './dom.js'
import { api } from './api.js'
import type { RegistryView } from '../registry-view.js'
import type { RunRow } from '../table.js'

const when = (s: number) => new Date(s * 1000).toISOString().slice(0, 19).replace('T', ' ')
/** A version as `xp model ls` prints it: a commit-hash version shortened. */
const short = (v: string | null | undefined) => (v ? (/^[0-9a-f]{40}$/.test(v) ? v.slice(0, 7) : v) : '')

export async function registryPage(runs: RunRow[]): Promise<HTMLElement> {
  const reg = (await api.registry()) as RegistryView
  const byCommit = new Map(runs.map((r) => [r.commit, r]))
  /** a commit as a link to its run when it is one, else its short hash */
  const commit = (c: string) => {
    const run = byCommit.get(c)
    return run ? el('a', { attrs: { href: `#/run/${run.id}`, title: c } }, run.name) : el('code', { attrs: { title: c } }, c.slice(0, 10))
  }
  const root = el('section', 'registry-view', el('h2', {}, 'Model registry'))
  for (const p of [...reg.problems, ...reg.warnings]) root.append(el('div', 'warning', p))
  if (!reg.artifacts.length) {
    root.append(el('p', 'muted', 'No artifact is registered yet. Register one with `xp model register NAME`.'))
    return root
  }
  // overview: one row per artifact, one column per stage, exactly `xp model ls --all`
  root.append(
    el(
      'table',
      'registry-overview',
      el('thead', {}, el('tr', {}, el('th', {}, 'artifact'), el('th', {}, 'latest'), ...reg.stages.map((s) => el('th', {}, s)))),
      el(
        'tbody',
        {},
        ...reg.artifacts.map((a) =>
          el(
            'tr',
            a.active ? '' : 'deprecated',
            el(
              'td',
              {},
              el('a', { attrs: { href: `#/registry/${encodeURIComponent(a.name)}` } }, a.name),
              a.active ? null : el('span', 'badge interrupted', 'deprecated'),
            ),
            el('td', {}, short(a.show.version)),
            ...reg.stages.map((s) => el('td', { attrs: { 'data-stage': s } }, short(a.show.stage[s]))),
          ),
        ),
      ),
    ),
  )
  for (const a of reg.artifacts) {
    const card = el('div', { class: 'artifact', attrs: { id: `artifact-${a.name}`, 'data-artifact': a.name } })
    card.append(el('h3', {}, a.name, ' ', a.active ? null : el('span', 'badge interrupted', 'deprecated')))
    card.append(
      el(
        'table',
        'versions',
        el('thead', {}, el('tr', {}, ...['version', 'commit', 'stages', 'registered', 'by'].map((h) => el('th', {}, h)))),
        el(
          'tbody',
          {},
          ...a.versions.map((v) =>
            el(
              'tr',
              v.active ? '' : 'inactive',
              el('td', {}, v.version, v.active ? null : el('span', 'muted', ' (deregistered)')),
              el('td', {}, commit(v.commit)),
              el('td', {}, v.shown.join(', ')),
              el('td', {}, when(v.created)),
              el('td', {}, v.author ?? ''),
            ),
          ),
        ),
      ),
    )
    card.append(
      el('h4', {}, 'History'),
      el(
        'table',
        'history',
        el('thead', {}, el('tr', {}, ...['when', 'event', 'version', 'stage', 'by', 'tag', 'message'].map((h) => el('th', {}, h)))),
        el(
          'tbody',
          {},
          ...a.history.map((e) =>
            el(
              'tr',
              {},
              el('td', {}, when(e.time)),
              el('td', {}, e.kind),
              el('td', {}, e.version ?? ''),
              el('td', {}, e.stage ?? ''),
              el('td', {}, e.tagger),
              el('td', {}, el('code', {}, e.tag)),
              el('td', {}, e.message),
            ),
          ),
        ),
      ),
    )
    root.append(card)
  }
  return root
}
