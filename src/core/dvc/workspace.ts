/**
 * DVC in the working tree: its dvc.yaml as xp's defaults, its `.dvc` files and dvc.lock
 * as the run's data versions. Reads text files only; DVC's data is never opened.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Repo } from '../repo.js'
import type { DataEntry } from '../runs/record.js'
import { git } from '../git.js'
import { DVC_LOCK, DVC_YAML, parseDvcYaml, type DvcProject } from './project.js'
import { DVC_FILE_SUFFIX, dvcDeps, parseDvcFile, parseDvcLock, type DvcEntry } from './data.js'

/** True in a DVC project (DVC's `.dvc/` folder at the root of the working tree). */
export function isDvcProject(root: string): boolean {
  return fs.existsSync(path.join(root, '.dvc'))
}

/** `dvc.yaml` at the root of the working tree, parsed; null when there is none or it does not parse (DVC reports that). */
export function readDvcProject(root: string): DvcProject | null {
  let text: string
  try {
    text = fs.readFileSync(path.join(root, DVC_YAML), 'utf8')
  } catch {
    return null
  }
  try {
    return parseDvcYaml(text)
  } catch {
    return null
  }
}

/**
 * The data versions DVC records in this working tree (`*.dvc` files tracked or not
 * ignored, and dvc.lock), except paths git holds and deps xp hashed itself.
 *
 * @example
 * await workspaceDvcDeps(repo, {}) // { 'data/raw': { oid: 'md5:22a1...dir', size: 1234, files: 3 } }
 */
export async function workspaceDvcDeps(repo: Pick<Repo, 'root' | 'ctx'>, own: Record<string, DataEntry>): Promise<Record<string, DataEntry>> {
  const hasDvc = isDvcProject(repo.root) || fs.existsSync(path.join(repo.root, DVC_LOCK))
  if (!hasDvc) return {}
  const opts = { cwd: repo.root, env: repo.ctx.env }
  const listed = await git(['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', `*${DVC_FILE_SUFFIX}`, DVC_LOCK], opts)
  const entries: DvcEntry[] = []
  for (const rel of new Set(listed.stdout.split('\0'))) {
    if (!rel || (!rel.endsWith(DVC_FILE_SUFFIX) && rel !== DVC_LOCK)) continue
    let text: string
    try {
      text = fs.readFileSync(path.join(repo.root, rel), 'utf8')
    } catch {
      continue // deleted but still in the index
    }
    entries.push(...(rel === DVC_LOCK ? parseDvcLock(text, rel) : parseDvcFile(text, rel)))
  }
  if (!entries.length) return {}
  const tracked = await git(['ls-files', '-z', '--', ...entries.map((e) => `:(literal)${e.path}`)], opts)
  const inGit = new Set(tracked.stdout.split('\0').filter(Boolean))
  // a folder is in git when files under it are
  const inGitOrUnder = (p: string) => inGit.has(p) || [...inGit].some((f) => f.startsWith(p + '/'))
  return dvcDeps(entries, inGitOrUnder, own)
}
