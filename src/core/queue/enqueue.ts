/**
 * `xp run --queue`: one task per combination of the `-S` grid. The working tree as it is
 * now (tracked changes and untracked, non-ignored files) is snapshotted through a
 * temporary index into a commit on `refs/xp/queue/<task>`, so a task runs exactly what the
 * user saw when they queued it and git keeps the objects. Nothing of the user's working
 * tree, index, HEAD or params files is written.
 */
import fs from 'node:fs'
import path from 'node:path'
import type { Repo } from '../repo.js'
import { loadConfig, ensureXpDir, projectPrefix } from '../repo.js'
import { git } from '../git.js'
import { XpError } from '../errors.js'
import { parseSetArg, checkEdits, type ParamEdit } from '../params.js'
import { isInside } from '../fsutil.js'
import { newRunId, validateRunName, generateName } from '../runs/ref.js'
import { runNames, writeCommit, defaultSetFile } from '../runs/record-run.js'
import { snapshotTree } from '../runs/snapshot.js'
import { commandSpec } from '../runs/command.js'
import { Scrubber, argvHasSecret } from '../safety/secrets.js'
import { guardRead } from '../safety/paths.js'
import { queuePaths, listTasks, writeTask, QUEUE_REF_PREFIX, type Task } from './task.js'

export interface QueueOptions {
  name?: string
  set: string[]
  message?: string
  command: string[]
  /** sbatch options for these tasks when they run on Slurm */
  sbatch?: string[]
}

/**
 * The combinations of a grid, the first `-S` varying slowest (as nested loops would).
 *
 * @example
 * expandGrid([{ file: 'p.yaml', key: 'lr', values: [1, 2] }, { file: 'p.yaml', key: 'm', values: ['a', 'b'] }]).length // 4
 */
export function expandGrid(axes: Array<{ file: string; key: string; values: unknown[]; mode?: ParamEdit['mode'] }>): ParamEdit[][] {
  let combos: ParamEdit[][] = [[]]
  for (const axis of axes) {
    if (!axis.values.length) throw new XpError('XP_BAD_SET', `-S ${axis.key}: the grid has no values`, {})
    combos = combos.flatMap((c) => axis.values.map((value) => [...c, { file: axis.file, key: axis.key, value, ...(axis.mode ? { mode: axis.mode } : {}) }]))
  }
  return combos
}

/** Task names: NAME for a single task, NAME-1, NAME-2... for a grid. */
export function taskNames(name: string, count: number): string[] {
  return count === 1 ? [name] : Array.from({ length: count }, (_, i) => `${name}-${i + 1}`)
}

/**
 * Queue one task per grid combination and return them in run order.
 *
 * @example
 * const tasks = await queueRuns(repo, { name: 'lr', set: ['lr=0.1,0.01'], command: ['python', 'train.py'] })
 * tasks.map((t) => t.name) // ['lr-1', 'lr-2']
 */
export async function queueRuns(repo: Repo, opts: QueueOptions): Promise<Task[]> {
  const { ctx } = repo
  const config = loadConfig(repo)
  if (!commandSpec(opts.command, config.command))
    throw new XpError('XP_NO_COMMAND', 'no command to queue', {
      hint: 'give one after `--` (xp run --queue -- python train.py) or set `command:` in xp.yaml',
    })
  // a task file keeps the argv to run it later: a secret in it would sit in .xp/ (core/safety)
  if (argvHasSecret(opts.command, Scrubber.forEnv(ctx.env)))
    throw new XpError('XP_SECRET_IN_COMMAND', 'the command line holds a secret (a password, token or key), which a queued task would have to store', {
      hint: `pass it in an environment variable that \`xp queue start\` inherits: xp run --queue -- sh -c 'train --token "$MY_TOKEN"'`,
    })
  const defaultFile = defaultSetFile(config.params, path.posix.join(projectPrefix(repo), 'params.yaml'))
  const combos = expandGrid(opts.set.map((a) => parseSetArg(a, defaultFile)))
  for (const file of new Set(combos[0].map((e) => e.file))) {
    if (!fs.existsSync(guardRead(repo.root, file, `-S ${file}`)))
      throw new XpError('XP_PARAMS_FILE_MISSING', `-S names ${file}, which does not exist`, {
        hint: 'create it, or name an existing params file as FILE:KEY=VALUE',
      })
  }
  checkEdits(repo.root, combos[0]) // a misspelled key is refused now, not by every task later
  const cwd = opts.command.length ? path.relative(repo.root, ctx.cwd) : projectPrefix(repo)
  if (!isInside(repo.root, ctx.cwd)) throw new XpError('XP_QUEUE_OUTSIDE', 'queue runs from inside the working tree')

  const [head, branch] = await Promise.all([
    git(['rev-parse', '-q', '--verify', 'HEAD^{commit}'], { cwd: repo.root, env: ctx.env, allowFail: true }),
    git(['symbolic-ref', '-q', '--short', 'HEAD'], { cwd: repo.root, env: ctx.env, allowFail: true }),
  ])
  if (head.code !== 0)
    throw new XpError('XP_QUEUE_NO_COMMIT', 'the queue runs tasks on a commit, and this branch has none yet', { hint: 'commit once (git commit), then queue' })
  const baseline = head.stdout.trim()

  const q = queuePaths(repo)
  const taken = new Set([
    ...(await runNames(repo)),
    ...listTasks(q)
      .filter((t) => t.state !== 'cancelled')
      .map((t) => t.name),
  ])
  let names: string[]
  if (opts.name !== undefined) {
    validateRunName(opts.name)
    names = taskNames(opts.name, combos.length).map(validateRunName)
    const clash = names.find((n) => taken.has(n))
    if (clash) throw new XpError('XP_RUN_NAME_TAKEN', `a run or queued task named ${clash} exists already`, { hint: 'choose another -n NAME' })
  } else {
    names = combos.map(() => {
      let n = generateName()
      for (let i = 0; taken.has(n); i++) n = i < 20 ? generateName() : `${generateName()}-${i}`
      taken.add(n)
      return n
    })
  }

  ensureXpDir(repo)
  const now = ctx.now()
  const ids = combos.map(() => newRunId(now))
  const snap = await snapshotTree(repo, {
    key: `queue-${ids[0]}`,
    maxFileSize: config.snapshot.max_file_size,
    include: config.snapshot.include,
    excludeGlobs: config.snapshot.exclude,
  })
  if (snap.leftOut.length)
    ctx.warn(
      `left out of the queued working tree (they look like secrets or match snapshot.exclude): ${snap.leftOut.slice(0, 10).join(', ')}${snap.leftOut.length > 10 ? ` and ${snap.leftOut.length - 10} more` : ''}; list them in snapshot.include in xp.yaml to keep them`,
    )
  for (const l of snap.large)
    ctx.warn(`${l.path} (${(l.size / 1e6).toFixed(1)} MB) is untracked and over snapshot.max_file_size: queued tasks will not see it; track it with \`xp add\``)
  const snapshot = await writeCommit(repo, snap.tree, baseline, `xp queue: the working tree for ${combos.length} task${combos.length === 1 ? '' : 's'}\n`, now)
  // one ref per batch keeps the snapshot alive for all its tasks (1,000 loose refs cost seconds)
  const ref = `${QUEUE_REF_PREFIX}${ids[0]}`
  await git(['update-ref', ref, snapshot, ''], { cwd: repo.root, env: ctx.env })

  const tasks: Task[] = combos.map((edits, index) => ({
    xp_queue: 1,
    id: ids[index],
    name: names[index],
    state: 'queued',
    created: now.toISOString(),
    index,
    baseline,
    branch: branch.code === 0 ? branch.stdout.trim() : null,
    snapshot,
    tree: snap.tree,
    ref,
    edits,
    command: opts.command,
    cwd: cwd.split(path.sep).join('/'),
    message: opts.message === undefined ? undefined : Scrubber.forEnv(ctx.env).text(opts.message),
    attempts: 0,
    ...(opts.sbatch?.length ? { sbatch: opts.sbatch } : {}),
  }))
  for (const t of tasks) writeTask(q, t)
  return tasks
}
