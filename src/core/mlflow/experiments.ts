/**
 * MLflow experiments over xp: an experiment is a name. Its id is derived from the name
 * (a decimal number from SHA-256, below 2^53), so two clones that each create "churn"
 * agree on its id with no coordination; `Default` is `0`. A run's record carries its
 * experiment's name. Experiments made through the API with no run yet are kept in
 * `.xp/mlflow/experiments.jsonl` (append-only), so they survive a restart.
 */
import fs from 'node:fs'
import path from 'node:path'
import { createHash } from 'node:crypto'

export const DEFAULT_EXPERIMENT = 'Default'
export const DEFAULT_EXPERIMENT_ID = '0'

/**
 * The id of an experiment name.
 *
 * @example
 * experimentId('Default') // '0'
 * experimentId('churn')   // the same 15- or 16-digit string on every machine
 */
export function experimentId(name: string): string {
  if (name === DEFAULT_EXPERIMENT) return DEFAULT_EXPERIMENT_ID
  const h = createHash('sha256').update(name, 'utf8').digest()
  // 52 bits: exact as a JSON number too, never 0
  const n = (h.readUInt32BE(0) & 0xfffff) * 2 ** 32 + h.readUInt32BE(4)
  return String(n === 0 ? 1 : n)
}

export interface ExperimentEntry {
  name: string
  /** ms */
  created: number
  tags?: Record<string, string>
  deleted?: boolean
}

/** The experiments file: one JSON line per create, tag, delete or restore. */
export class ExperimentStore {
  readonly file: string
  constructor(xpDir: string) {
    this.file = path.join(xpDir, 'mlflow', 'experiments.jsonl')
  }

  read(): Map<string, ExperimentEntry> {
    const out = new Map<string, ExperimentEntry>()
    let text = ''
    try {
      text = fs.readFileSync(this.file, 'utf8')
    } catch {
      return out
    }
    for (const line of text.split('\n')) {
      if (!line) continue
      let ev: { e: string; name: string; created?: number; k?: string; v?: string }
      try {
        ev = JSON.parse(line)
      } catch {
        continue
      }
      if (typeof ev?.name !== 'string') continue
      const cur = out.get(ev.name)
      if (ev.e === 'create') out.set(ev.name, { name: ev.name, created: ev.created ?? 0, ...(cur ? { tags: cur.tags } : {}) })
      else if (cur && ev.e === 'tag' && typeof ev.k === 'string') cur.tags = { ...cur.tags, [ev.k]: String(ev.v ?? '') }
      else if (cur && ev.e === 'delete') cur.deleted = true
      else if (cur && ev.e === 'restore') cur.deleted = false
      else if (cur && ev.e === 'rename' && typeof ev.v === 'string') {
        out.delete(ev.name)
        out.set(ev.v, { ...cur, name: ev.v })
      }
    }
    return out
  }

  append(ev: Record<string, unknown>): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true })
    fs.appendFileSync(this.file, JSON.stringify(ev) + '\n')
  }
}
