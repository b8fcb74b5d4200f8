// System metrics while `xp run`'s command runs: CPU and memory of the process tree from
// /proc, GPUs through one `nvidia-smi -l` process (a stand-in on PATH that prints the real
// format: test/fake-bin/nvidia-smi), recorded as the run's series `system/*`.
import { describe, it, expect, afterAll } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { TestRepo, cleanupTmp, ROOT } from './helpers.js'
import { parseProcStat, parseGpuLine, processTree } from '../src/core/runs/sysmon.js'

const FAKE_BIN = path.join(ROOT, 'test', 'fake-bin')
// Burns CPU for about 1.2 s in a child process, holding 40 MB, so the tree has two processes.
const BURN = `
const { spawnSync } = require('child_process')
const keep = Buffer.alloc(40e6, 1)
spawnSync(process.execPath, ['-e', 'const t = Date.now(); while (Date.now() - t < 1200) {}'])
console.log('done', keep.length)
`

afterAll(() => cleanupTmp())

function run(repo: TestRepo, args: string[], env: Record<string, string> = {}) {
  const r = repo.xp(['run', '--json', ...args], { env })
  if (r.code !== 0) throw new Error(r.stderr)
  return JSON.parse(r.stdout)
}

function lines(text: string): Array<Record<string, number>> {
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
}

describe('system metrics', () => {
  it('samples CPU, memory and the GPUs of one nvidia-smi process into series system/*', () => {
    const repo = new TestRepo({ files: { 'burn.js': BURN, 'xp.yaml': 'system_metrics: {interval: 0.2}\n' } })
    const log = path.join(repo.home, 'smi.log')
    const env = { PATH: `${FAKE_BIN}:${process.env.PATH}`, FAKE_SMI_LOG: log }
    const r = run(repo, ['-n', 'burn', '--', 'node', 'burn.js'], env)
    expect(r.series).toContain('.xp-run/system.jsonl')
    const rows = lines(repo.git('show', `${r.commit}:.xp-run/system.jsonl`))
    expect(rows.length).toBeGreaterThanOrEqual(3)
    // the child burning a core shows in the tree's CPU (a share of a loaded 2-core machine), the parent's 40 MB in its memory
    expect(Math.max(...rows.map((x) => x['system/cpu_percent']))).toBeGreaterThan(10)
    expect(Math.max(...rows.map((x) => x['system/rss_mb']))).toBeGreaterThan(40)
    expect(Math.max(...rows.map((x) => x['system/processes']))).toBeGreaterThanOrEqual(2)
    const gpu = rows.filter((x) => 'system/gpu0/utilization_percent' in x)
    expect(gpu.length).toBeGreaterThan(0)
    expect(gpu[0]['system/gpu0/memory_percent']).toBeGreaterThan(5)
    // [N/A] utilization is left out, memory kept
    expect(rows.some((x) => 'system/gpu1/memory_used_mb' in x && !('system/gpu1/utilization_percent' in x))).toBe(true)
    // one nvidia-smi for the whole run, looping itself, and it was stopped with the run
    const starts = fs.readFileSync(log, 'utf8').trim().split('\n')
    expect(starts).toHaveLength(1)
    expect(starts[0]).toMatch(/--format=csv,noheader,nounits -lms 200$/)
    const pid = Number(starts[0].split(' ')[1])
    expect(() => process.kill(pid, 0)).toThrow()
    // the series API reads them like any other series
    const show = repo.json(['show', 'burn'])
    expect(show[0].series).toContain('.xp-run/system.jsonl')
  })

  it('is off with system_metrics: false, and a run shorter than one period records none', () => {
    const repo = new TestRepo({ files: { 'burn.js': BURN, 'xp.yaml': 'system_metrics: false\n' } })
    const r = run(repo, ['--', 'node', 'burn.js'], { PATH: `${FAKE_BIN}:${process.env.PATH}` })
    expect(r.series).not.toContain('.xp-run/system.jsonl')
    const quick = new TestRepo({ files: { 'a.txt': 'x' } })
    const q = run(quick, ['--', 'true'])
    expect(q.series).toEqual([])
    const bad = new TestRepo({ files: { 'xp.yaml': 'system_metrics: {interval: -1}\n' } })
    expect(bad.xp(['run', '--', 'true']).stderr).toMatch(/XP_BAD_CONFIG/)
  })

  it('parses /proc stat lines with odd command names and nvidia-smi lines', () => {
    const stat = '42 (a) b (c)) S 7 42 42 0 -1 4194304 99 0 0 0 150 50 3 2 20 0 1 0 152245 3133440 1000 18446744073709551615'
    expect(parseProcStat(stat)).toEqual({ ppid: 7, ticks: 205, rssBytes: 1000 * 4096 })
    expect(parseGpuLine('0, 37, 1234, 16384')).toEqual({ index: 0, utilization: 37, memoryUsedMiB: 1234, memoryTotalMiB: 16384 })
    expect(parseGpuLine('1, [N/A], 512, 8192')?.utilization).toBeNaN()
    expect(parseGpuLine('garbage')).toBeNull()
    expect(processTree(process.pid).get(process.pid)?.rssBytes).toBeGreaterThan(0)
  })
})
