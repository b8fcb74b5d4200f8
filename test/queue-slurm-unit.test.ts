import { describe, it, expect } from 'vitest'
import { parseSqueue, isTerminal, configSbatchArgs } from '../src/core/queue/executors/slurm.js'
import { joinSbatchArgs } from '../src/cli/index.js'
import { TestRepo, cleanupTmp } from './helpers.js'
import { afterAll } from 'vitest'

afterAll(cleanupTmp)

describe('Slurm executor, pure parts', () => {
  it('reads one squeue listing for every array element', () => {
    const m = parseSqueue('7_0|RUNNING|None|node3\n7_1|PENDING|JobArrayTaskLimit|\n7_2|NODE_FAIL|NodeDown|node4\n')
    expect(m.get('7_0')).toEqual({ state: 'RUNNING', reason: undefined, node: 'node3' })
    expect(m.get('7_1')).toEqual({ state: 'PENDING', reason: 'JobArrayTaskLimit', node: undefined })
    expect(isTerminal(m.get('7_2')!.state)).toBe(true)
    expect(isTerminal('RUNNING')).toBe(false)
  })

  it('turns xp.yaml slurm: into sbatch options and refuses what is not one', () => {
    const r = new TestRepo({ files: { 'xp.yaml': 'slurm:\n  partition: gpu\n  time: "4:00:00"\n  cpus_per_task: 4\n  gres: gpu:1\n' } })
    expect(configSbatchArgs({ root: r.dir })).toEqual(['--partition=gpu', '--time=4:00:00', '--cpus-per-task=4', '--gres=gpu:1'])
    r.write('xp.yaml', 'slurm:\n  "x; rm -rf /": 1\n')
    expect(() => configSbatchArgs({ root: r.dir })).toThrow(/sbatch option name/)
  })

  it('takes the word after --sbatch as its value, whatever it starts with', () => {
    expect(joinSbatchArgs(['queue', 'start', '--slurm', '--sbatch', '--time=1:00', '-j', '2'])).toEqual([
      'queue',
      'start',
      '--slurm',
      '--sbatch=--time=1:00',
      '-j',
      '2',
    ])
    expect(joinSbatchArgs(['run', '--queue', '--', 'x', '--sbatch', 'y'])).toEqual(['run', '--queue', '--', 'x', '--sbatch', 'y'])
  })
})
