/**
 * A queued task records exactly as a foreground `xp run` (issue 12, point 1), and cannot
 * change a shared cache object through its data (issue 10).
 */
import { describe, it, expect, afterAll } from 'vitest'
import fs from 'node:fs'
import { TestRepo, cleanupTmp } from './helpers.js'

afterAll(cleanupTmp)

const WRITE_OUT = 'mkdir -p models && echo "model of $XP_RUN_NAME" > models/m.bin'

function project(): TestRepo {
  return new TestRepo({ files: { 'params.yaml': 'lr: 0.1\n', 'xp.yaml': 'outs: [models/m.bin]\n' } })
}

/** path -> blob of a run's tree */
function tree(r: TestRepo, name: string): Map<string, string> {
  const run = r.json<any[]>(['show']).find((x) => x.name === name)
  expect(run, `run ${name}`).toBeTruthy()
  const files = new Map<string, string>()
  for (const line of r.git('ls-tree', '-r', run.commit).trim().split('\n')) {
    const [meta, p] = line.split('\t')
    files.set(p, meta.split(' ')[2])
  }
  return files
}

describe('queued and foreground runs record outs the same way', () => {
  it('a queued run commits its out as a pointer with the bytes in the cache, like xp run', () => {
    const r = project()
    // a foreground run first: its out stays in the working tree, untracked, when the sweep is queued
    expect(r.xp(['run', '-n', 'fg', '--', 'sh', '-c', WRITE_OUT]).code).toBe(0)
    expect(r.exists('models/m.bin')).toBe(true)
    expect(r.xp(['run', '--queue', '-n', 'q', '-S', 'lr=0.2,0.3', '--', 'sh', '-c', WRITE_OUT]).code).toBe(0)
    expect(r.xp(['queue', 'start', '-j', '2']).code).toBe(0)

    for (const name of ['fg', 'q-1', 'q-2']) {
      const files = tree(r, name)
      expect(files.has('models/m.bin'), `${name} holds the raw out`).toBe(false)
      expect(files.has('models/m.bin.xp'), `${name} holds the out's pointer`).toBe(true)
      const pointer = r.git('cat-file', '-p', files.get('models/m.bin.xp')!)
      const oid = /oid: (\w+)/.exec(pointer)![1]
      const run = r.json<any[]>(['show']).find((x) => x.name === name)
      expect(run.outs['models/m.bin'].oid).toBe(oid)
      // the bytes are in the cache: checking the run's out out gives the command's output
      expect(fs.readFileSync(r.path('.xp/cache', oid.slice(0, 2), oid.slice(2)), 'utf8')).toBe(`model of ${name}\n`)
    }
    // the user's working tree still has the foreground run's out
    expect(r.read('models/m.bin')).toBe('model of fg\n')
  })

  it('a task that writes into its data cannot change the shared cache object', () => {
    const r = project()
    r.write('data/train.csv', 'a,b\n1,2\n')
    expect(r.xp(['add', 'data']).code).toBe(0)
    const oidOf = () => r.json<any[]>(['show']).find((x) => x.name === 'w')!.deps
    r.write('xp.yaml', 'deps: [data]\n')
    expect(r.xp(['run', '--queue', '-n', 'w', '--', 'sh', '-c', 'echo x >> data/train.csv && cat data/train.csv']).code).toBe(0)
    expect(r.xp(['queue', 'start']).code).toBe(0)
    expect(r.xp(['queue', 'logs', 'w']).stdout).toContain('1,2\nx\n')
    // every cache object still hashes to its name, and the user's copy is untouched
    const fsck = r.xp(['fsck'])
    expect(fsck.code, fsck.stdout + fsck.stderr).toBe(0)
    expect(r.read('data/train.csv')).toBe('a,b\n1,2\n')
    // a second task sees the original bytes, not the first task's append
    expect(r.xp(['run', '--queue', '-n', 'w2', '--', 'cat', 'data/train.csv']).code).toBe(0)
    expect(r.xp(['queue', 'start']).code).toBe(0)
    expect(r.xp(['queue', 'logs', 'w2']).stdout).toContain('a,b\n1,2\n')
    expect(r.xp(['queue', 'logs', 'w2']).stdout).not.toContain('x\n')
    expect(oidOf()).toBeTruthy()
  })
})
