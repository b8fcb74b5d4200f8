/**
 * DVC's project file, `dvc.yaml` (DVC 3; DVCLive writes its top level), read as xp's
 * defaults: what `xp.yaml` does not set, `dvc.yaml` does. Pure: text in, typed values out,
 * so a run (the working tree) and an import (a commit's blobs) read it the same way.
 *
 * What is read (DVC's own meaning, https://dvc.org/doc/user-guide/project-structure/dvcyaml-files):
 * - top-level `params:` (files), `metrics:` (files), `plots:` (files, folders, or ids with
 *   `y: {file: column}`, each with template/x/y/title/x_label/y_label), `artifacts:`
 *   (name -> {path, type, desc, labels}), as GTO and DVC Studio read them;
 * - each stage's `params:` (a key means a key of params.yaml, `{file: [keys]}` a file),
 *   `metrics:` and `plots:` (a path or `{path: {cache: false, ...}}`), and DVC 2's `live:`
 *   (`{dvclive: {...}}`: metrics in `dvclive.json`, series under `dvclive/`).
 * Stage `outs:` are DVC's data: their versions come from `dvc.lock` (see data.ts), and xp
 * never caches them.
 */
import { XpError } from '../errors.js'
import { parseStructured } from '../params.js'

export const DVC_YAML = 'dvc.yaml'
export const DVC_LOCK = 'dvc.lock'
export const DVC_PARAMS_DEFAULT = 'params.yaml'

import type { DvcPlotDef } from './plot-def.js'
export type { DvcPlotDef } from './plot-def.js'

export interface DvcProject {
  params: string[]
  metrics: string[]
  plots: DvcPlotDef[]
  /** tabular step metrics: DVC 2's `live:` folders and tabular plot files/folders */
  series: string[]
  artifacts: Record<string, { path: string; type?: string; description?: string }>
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v : undefined)

/** A path from dvc.yaml that stays inside the repository: relative, no `..`, not a URL (data never names a file outside). */
export function insideRepo(p: string): boolean {
  return !/^([a-z][a-z0-9+.-]*:|[\\/~])/i.test(p) && !p.replace(/\\/g, '/').split('/').includes('..')
}

/** `[a, {b: {...}}]` -> [['a', {}], ['b', {...}]] (DVC's list-of-paths-with-options form). */
function entries(v: unknown): Array<[string, Record<string, unknown>]> {
  const list = Array.isArray(v) ? v : v && typeof v === 'object' ? Object.entries(v as object).map(([k, o]) => ({ [k]: o })) : []
  const out: Array<[string, Record<string, unknown>]> = []
  for (const e of list) {
    if (typeof e === 'string') out.push([e, {}])
    else if (e && typeof e === 'object')
      for (const [k, o] of Object.entries(e as Record<string, unknown>))
        out.push([k, o && typeof o === 'object' && !Array.isArray(o) ? (o as Record<string, unknown>) : {}])
  }
  return out
}

function plotDefs(v: unknown): DvcPlotDef[] {
  const out: DvcPlotDef[] = []
  for (const [id, o] of entries(v)) {
    if (!insideRepo(id)) continue
    const def: DvcPlotDef = { id }
    for (const k of ['template', 'title', 'x_label', 'y_label'] as const) if (str(o[k])) def[k] = o[k] as string
    // x and y may be a column, or {file: column} for plots that join files
    for (const k of ['x', 'y'] as const) {
      const a = o[k]
      if (str(a)) def[k] = a as string
      else if (a && typeof a === 'object' && !Array.isArray(a)) {
        const files = Object.keys(a as object).filter(insideRepo)
        def.files = [...new Set([...(def.files ?? []), ...files])]
        const col = Object.values(a as Record<string, unknown>).flat()[0]
        if (str(col)) def[k] = col as string
      }
    }
    out.push(def)
  }
  return out
}

const TABULAR = /\.(tsv|csv)$/i

/**
 * Parse the text of a dvc.yaml.
 *
 * @example
 * parseDvcYaml('params:\n- dvclive/params.yaml\nmetrics:\n- dvclive/metrics.json\n').metrics // ['dvclive/metrics.json']
 */
export function parseDvcYaml(text: string, file = DVC_YAML): DvcProject {
  const doc = parseStructured(text, file)
  const project: DvcProject = { params: [], metrics: [], plots: [], series: [], artifacts: {} }
  if (doc === null || doc === undefined) return project
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new XpError('XP_BAD_FILE', `${file}: expected a mapping (stages, params, metrics, plots, artifacts)`, { data: { file } })
  const d = doc as Record<string, unknown>
  const params = new Set<string>()
  const metrics = new Set<string>()
  const series = new Set<string>()
  for (const [p] of entries(d.params)) params.add(p)
  for (const [p] of entries(d.metrics)) metrics.add(p)
  project.plots.push(...plotDefs(d.plots))
  const stages = d.stages && typeof d.stages === 'object' ? Object.values(d.stages as Record<string, unknown>) : []
  for (const s of stages) {
    if (!s || typeof s !== 'object') continue
    const st = s as Record<string, unknown>
    // a stage's params: `lr` is a key of params.yaml; `{file.yaml: [keys]}` names a file
    for (const p of Array.isArray(st.params) ? st.params : []) {
      if (typeof p === 'string') params.add(DVC_PARAMS_DEFAULT)
      else if (p && typeof p === 'object') for (const f of Object.keys(p)) params.add(f)
    }
    for (const [p] of entries(st.metrics)) metrics.add(p)
    project.plots.push(...plotDefs(st.plots))
    // DVC 2.x: `live: {dvclive: {summary: true}}` -> dvclive.json and dvclive/*.tsv
    for (const [dir] of entries(st.live)) {
      metrics.add(`${dir}.json`)
      series.add(`${dir}/**/*.tsv`)
    }
  }
  for (const p of project.plots) {
    if (p.files) continue
    if (TABULAR.test(p.id)) series.add(p.id)
    else if (!/\.[a-z0-9]+$/i.test(p.id)) series.add(`${p.id.replace(/\/+$/, '')}/**/*.tsv`)
  }
  if (d.artifacts && typeof d.artifacts === 'object' && !Array.isArray(d.artifacts)) {
    for (const [name, a] of Object.entries(d.artifacts as Record<string, unknown>)) {
      if (!a || typeof a !== 'object' || !str((a as Record<string, unknown>).path) || !insideRepo((a as Record<string, unknown>).path as string)) continue
      const art = a as Record<string, unknown>
      project.artifacts[name] = {
        path: art.path as string,
        ...(str(art.type) ? { type: art.type as string } : {}),
        ...(str(art.desc) ? { description: art.desc as string } : {}),
      }
    }
  }
  project.params = [...params].filter(insideRepo)
  project.metrics = [...metrics].filter(insideRepo)
  project.series = [...series].filter(insideRepo)
  return project
}

/** The fields of xp's config that dvc.yaml can fill. */
export interface DvcDefaults {
  params?: string[]
  metrics?: string[]
  series?: string[]
  artifacts: Record<string, { path: string; type?: string; description?: string }>
}

/**
 * Fill what xp.yaml left unset from dvc.yaml: params, metrics and series files when
 * xp.yaml names none, artifacts that xp.yaml does not define. Pure.
 *
 * @example
 * mergeDvcDefaults({ artifacts: {} }, parseDvcYaml('metrics: [m.json]')).metrics // ['m.json']
 */
export function mergeDvcDefaults<T extends DvcDefaults>(config: T, dvc: DvcProject | null, hasParamsYaml = false): T {
  if (!dvc) return config
  const out = { ...config }
  // DVC reads params.yaml whether or not a stage names it
  if (out.params === undefined && dvc.params.length) out.params = [...new Set([...(hasParamsYaml ? [DVC_PARAMS_DEFAULT] : []), ...dvc.params])]
  if (out.metrics === undefined && dvc.metrics.length) out.metrics = dvc.metrics
  if (out.series === undefined && dvc.series.length) out.series = dvc.series
  if (Object.keys(dvc.artifacts).length) out.artifacts = { ...dvc.artifacts, ...config.artifacts }
  return out
}
