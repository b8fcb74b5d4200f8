/**
 * A task killed at its Slurm time limit. In its own file, with its own cluster: Slurm
 * counts time limits in whole minutes (`--time=0:00:05` becomes 1:00) and slurmctld looks
 * for jobs over their limit every 30 s, so the kill comes 60-90 s after the start; the
 * other Slurm tests run meanwhile in their file.
 */
import { it, expect, beforeAll, afterAll } from 'vitest'
import fs from 'node:fs'
import { TestRepo, cleanupTmp, tmpDir } from './helpers.js'
import { startSlurm, type SlurmCluster } from './servers/slurm.js'

let cluster: SlurmCluster
beforeAll(async () => {
  cluster = await startSlurm(tmpDir('xp-slurm-tl-'))
}, 30_000)
afterAll(async () => {
  await cluster?.stop()
  cleanupTmp()
}, 30_000)

it("a task over its time limit fails with Slurm's reason, its run recorded whole, no worktree left", async () => {
  const r = new TestRepo({ files: { 'params.yaml': 'lr: 0.1\n' } })
  r.env = { ...r.env, ...cluster.env }
  expect(r.xp(['run', '--queue', '-n', 'slow', '--sbatch', '--time=0:00:05', '--', 'sh', '-c', 'echo started; sleep 300']).code).toBe(0)
  const start = r.xp(['queue', 'start', '--slurm'])
  expect(start.code, start.stderr).toBe(0)
  let task: any
  for (const until = Date.now() + 130_000; ; ) {
    task = r.json<any>(['queue', 'status']).tasks[0]
    if (task.state !== 'queued' && task.state !== 'running' && task.slurm?.state === 'TIMEOUT') break
    if (Date.now() > until) throw new Error(`no TIMEOUT: ${JSON.stringify(task)}`)
    await new Promise((res) => setTimeout(res, 2000))
  }
  expect(task.state).toBe('failed')
  expect(task.reason).toMatch(/^Slurm job \d+_0 TIMEOUT: killed at its time limit/)
  expect(r.xp(['queue', 'status']).stdout).toMatch(/TIMEOUT/)
  // the job had time to record its run (SIGTERM, then SIGKILL after KillWait): a whole record, not a half-written ref
  const runs = r.json<any[]>(['show'])
  expect(runs).toHaveLength(1)
  expect(runs[0]).toMatchObject({ name: 'slow', status: expect.stringMatching(/failed|interrupted/) })
  expect(task.run.id).toBe(runs[0].id)
  expect(r.git('worktree', 'list').trim().split('\n')).toHaveLength(1)
  expect(fs.readdirSync(r.path('.xp/queue/claims'))).toEqual([])
}, 150_000)
