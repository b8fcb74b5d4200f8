/**
 * Operations on recorded runs: apply to the working tree, branch, remove, note.
 * Each resolves every run first, so a bad reference changes nothing.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Repo } from '../repo.js'
import { git, gitWith, gitAsAuthor } from '../git.js'
import { XpError } from '../errors.js'
import { checkRelPath, guardWrite } from '../safety/paths.js'
import { Scrubber } from '../safety/secrets.js'
import { listRuns, type ListedRun } from './list.js'
import { resolveRun } from './resolve.js'
import { NOTES_REF } from './ref.js'
import { commitPointers, materializePointers } from '../cache/run-data.js'
import type { MaterializeOptions } from '../cache/materialize.js'
import { writeFileAtomic } from '../fsutil.js'
import { keepRepositoryKeys } from './apply-config.js'

const RUN_META_DIR = '.xp-run/'

export async function resolveRuns(repo: Repo, specs: string[]): Promise<ListedRun[]> {
  const runs = await listRuns(repo)
  return specs.map((s) => resolveRun(runs, s))
}

export interface ApplyResult {
  run: ListedRun
  written: string[]
  deleted: string[]
  /** data paths written from the cache (the run's pointer files) */
  data: string[]
}

/** Paths whose working-tree state differs from HEAD (tracked changes and untracked files). */
async function uncommitted(repo: Repo): Promise<Set<string>> {
  const { stdout } = await git(['status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames'], { cwd: repo.root, env: repo.ctx.env })
  const out = new Set<string>()
  for (const entry of stdout.split('\0')) if (entry.length > 3) out.add(entry.slice(3))
  return out
}

/**
 * Make the working tree hold the run's files (what differs between HEAD and the run),
 * through a temporary index so the user's index and HEAD stay as they are.
 *
 * @example
 * await applyRun(repo, { run: 'brisk-otter' })
 */
export async function applyRun(repo: Repo, opts: { run: string; force?: boolean; fetchMissing?: MaterializeOptions['fetchMissing'] }): Promise<ApplyResult> {
  const [run] = await resolveRuns(repo, [opts.run])
  const head = await git(['rev-parse', '-q', '--verify', 'HEAD^{commit}'], { cwd: repo.root, env: repo.ctx.env, allowFail: true })
  const base = head.code === 0 ? head.stdout.trim() : await emptyTree(repo)
  const { stdout } = await git(['diff', '--name-status', '-z', '--no-renames', base, run.commit], { cwd: repo.root, env: repo.ctx.env })
  const parts = stdout.split('\0')
  const written: string[] = []
  const deleted: string[] = []
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const [status, file] = [parts[i], parts[i + 1]]
    if (file.startsWith(RUN_META_DIR)) continue
    ;(status === 'D' ? deleted : written).push(file)
  }
  // xp.yaml: the run's settings, the repository's (remotes, artifacts) as they are now
  const configs = new Map<string, string>()
  for (const f of written.filter((w) => path.posix.basename(w) === 'xp.yaml')) {
    const current = readOrNull(path.join(repo.root, f))
    const merged = keepRepositoryKeys((await git(['cat-file', 'blob', `${run.commit}:${f}`], { cwd: repo.root, env: repo.ctx.env })).stdout, current)
    if (merged === current) written.splice(written.indexOf(f), 1)
    else configs.set(f, merged)
  }
  for (const f of deleted.filter((d) => path.posix.basename(d) === 'xp.yaml')) {
    // a run from before xp.yaml existed: the repository's keys stay all the same
    const current = readOrNull(path.join(repo.root, f))
    const kept = current === null ? '' : keepRepositoryKeys('', current)
    if (kept.trim()) {
      deleted.splice(deleted.indexOf(f), 1)
      if (kept !== current) configs.set(f, kept)
    }
  }
  const dirty = await uncommitted(repo)
  const same = await sameAsRun(
    repo,
    run.commit,
    written.filter((f) => dirty.has(f) && !configs.has(f)),
  )
  const clash = [...written, ...deleted].filter((f) => dirty.has(f) && !same.has(f))
  if (clash.length && !opts.force)
    throw new XpError(
      'XP_UNCOMMITTED_CHANGES',
      `applying ${run.name} would overwrite uncommitted changes in ${clash.slice(0, 5).join(', ')}${clash.length > 5 ? ` and ${clash.length - 5} more` : ''}`,
      {
        hint: 'commit or stash them, or use --force to overwrite',
        data: { paths: clash },
      },
    )
  // data first checked (objects present, no uncached local changes), then written last
  const pointers = await commitPointers(repo, run.commit)
  // the path guard over every path before anything is written: the run's tree may hold a
  // symlink that its own files or data would then be written through (h -> /victim/home
  // beside h/.bashrc.xp), and the working tree may hold one too
  await guardTreeWrites(repo, run.commit, [...written, ...deleted, ...configs.keys(), ...pointers.map((p) => p.dataPath)])
  await materializePointers(repo, pointers, { force: opts.force, dryRun: true, fetchMissing: opts.fetchMissing })
  if (written.length) {
    const index = path.join(repo.xpDir, 'tmp', `apply-index-${process.pid}`)
    fs.mkdirSync(path.dirname(index), { recursive: true })
    try {
      await gitWith({ GIT_INDEX_FILE: index }, ['read-tree', run.commit], { cwd: repo.root, env: repo.ctx.env })
      await gitWith({ GIT_INDEX_FILE: index }, ['checkout-index', '-f', '-z', '--stdin'], { cwd: repo.root, env: repo.ctx.env, input: written.join('\0') })
    } finally {
      fs.rmSync(index, { force: true })
    }
  }
  for (const [f, text] of configs) writeFileAtomic(path.join(repo.root, f), text)
  for (const f of deleted) fs.rmSync(path.join(repo.root, f), { force: true })
  const data = await materializePointers(repo, pointers, { force: opts.force, fetchMissing: opts.fetchMissing })
  return { run, written, deleted, data }
}

/**
 * Refuse (XP_UNSAFE_PATH) any path that is lexically unsafe, that lies under a symlink of
 * the commit's own tree, or under a symlinked folder of the working tree.
 */
async function guardTreeWrites(repo: Repo, commit: string, paths: string[]): Promise<void> {
  const { stdout } = await git(['ls-tree', '-r', '-z', commit], { cwd: repo.root, env: repo.ctx.env })
  const links = new Set<string>()
  for (const line of stdout.split('\0')) {
    const tab = line.indexOf('\t')
    if (tab > 0 && line.startsWith('120000 ')) links.add(line.slice(tab + 1))
  }
  const proven = new Set<string>()
  for (const p of paths) {
    const where = `run ${commit.slice(0, 12)}: ${p}`
    checkRelPath(p, where)
    const segs = p.split('/')
    for (let i = 1; i < segs.length; i++) {
      const prefix = segs.slice(0, i).join('/')
      if (links.has(prefix))
        throw new XpError('XP_UNSAFE_PATH', `${where}: ${prefix} is a symlink in the run's tree; xp never writes through one`, {
          hint: 'this run cannot be applied; inspect it with `git ls-tree -r` on its commit',
        })
    }
    guardWrite(repo.root, p, where, proven)
  }
}

function readOrNull(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch {
    return null
  }
}

/**
 * The paths whose working-tree bytes are those of the run's tree already (an untracked
 * series file or .gitignore that the run itself wrote): overwriting them loses nothing.
 */
async function sameAsRun(repo: Repo, commit: string, files: string[]): Promise<Set<string>> {
  const out = new Set<string>()
  const present = files.filter((f) => fs.existsSync(path.join(repo.root, f)) && fs.statSync(path.join(repo.root, f)).isFile())
  if (!present.length) return out
  const opts = { cwd: repo.root, env: repo.ctx.env }
  const tree = await git(['ls-tree', '-z', commit, '--', ...present.map((f) => `:(literal)${f}`)], opts)
  const theirs = new Map<string, string>()
  for (const line of tree.stdout.split('\0')) {
    const tab = line.indexOf('\t')
    if (tab > 0) theirs.set(line.slice(tab + 1), line.slice(0, tab).split(' ')[2])
  }
  const mine = (await git(['hash-object', '--stdin-paths'], { ...opts, input: present.join('\n') + '\n' })).stdout.trim().split('\n')
  present.forEach((f, i) => {
    if (theirs.get(f) === mine[i]) out.add(f)
  })
  return out
}

async function emptyTree(repo: Repo): Promise<string> {
  const { stdout } = await git(['hash-object', '-t', 'tree', '--stdin'], { cwd: repo.root, env: repo.ctx.env, input: '' })
  return stdout.trim()
}

/** `git branch BRANCH <run commit>`; an existing branch is an error. */
export async function branchRun(repo: Repo, opts: { run: string; branch: string }): Promise<{ run: ListedRun; branch: string }> {
  const check = await git(['check-ref-format', '--branch', opts.branch], { cwd: repo.root, env: repo.ctx.env, allowFail: true })
  if (check.code !== 0) throw new XpError('XP_BAD_BRANCH_NAME', `${JSON.stringify(opts.branch)} is not a valid branch name`, {})
  const [run] = await resolveRuns(repo, [opts.run])
  const res = await git(['branch', opts.branch, run.commit], { cwd: repo.root, env: repo.ctx.env, allowFail: true })
  if (res.code !== 0) {
    if (/already exists/.test(res.stderr))
      throw new XpError('XP_BRANCH_EXISTS', `a branch named ${opts.branch} exists already`, { hint: 'choose another name' })
    throw new XpError('XP_GIT_FAILED', `git branch failed: ${res.stderr.trim()}`)
  }
  return { run, branch: opts.branch }
}

/** Delete run refs in one transaction: all or nothing. */
export async function removeRuns(repo: Repo, opts: { runs: string[] }): Promise<ListedRun[]> {
  const runs = await resolveRuns(repo, opts.runs)
  const unique = [...new Map(runs.map((r) => [r.id, r])).values()]
  const input = unique.map((r) => `delete ${r.ref} ${r.commit}\n`).join('')
  await git(['update-ref', '--stdin'], { cwd: repo.root, env: repo.ctx.env, input })
  for (const r of unique) fs.rmSync(path.join(repo.xpDir, 'runs', r.id), { recursive: true, force: true })
  return unique
}

/** Append a note to a run (git notes on refs/notes/xp, pushed and pulled with the runs). */
export async function noteRun(repo: Repo, opts: { run: string; text: string }): Promise<{ run: ListedRun; notes: string }> {
  if (!opts.text.trim()) throw new XpError('XP_EMPTY_NOTE', 'the note is empty', {})
  const [run] = await resolveRuns(repo, [opts.run])
  // notes are pushed with the runs: the text passes the secret scrubber (core/safety)
  await gitAsAuthor(['notes', `--ref=${NOTES_REF}`, 'append', '-m', Scrubber.forEnv(repo.ctx.env).text(opts.text), run.commit], {
    cwd: repo.root,
    env: repo.ctx.env,
  })
  const { stdout } = await git(['notes', `--ref=${NOTES_REF}`, 'show', run.commit], { cwd: repo.root, env: repo.ctx.env })
  return { run, notes: stdout.trim() }
}
