// Benchmark of the secret scrubber (issue 11): a 100 MB training log scrubbed as a stream
// (the way `xp run` writes output.log), beside `cat` and `sed` over the same file as the
// floor, and `xp run -- cat LOG` end to end. Prints figures; never fails on time.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const MB = Number(process.env.BENCH_MB ?? 100)
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'xp-bench-scrub-'))
const env = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  HOME: work,
  GIT_AUTHOR_NAME: 'b',
  GIT_AUTHOR_EMAIL: 'b@b',
  GIT_COMMITTER_NAME: 'b',
  GIT_COMMITTER_EMAIL: 'b@b',
  HF_TOKEN: 'hf_bench_secret_value_0123456789',
  DATABASE_URL: 'postgres://app:benchpw42@db/prod',
}

try {
  const mod = path.join(work, 'secrets.mjs')
  await build({
    entryPoints: [path.join(root, 'src/core/safety/secrets.ts')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile: mod,
    logLevel: 'warning',
  })
  const { Scrubber } = await import(mod)

  // a log as a training script writes it: progress lines, some metrics, a few secrets
  const log = path.join(work, 'output.log')
  const fd = fs.openSync(log, 'w')
  const lines = []
  for (let i = 0; i < 2000; i++) {
    if (i % 500 === 7) lines.push(`connecting to postgres://app:benchpw42@db/prod with token hf_bench_secret_value_0123456789`)
    else if (i % 3 === 0)
      lines.push(`epoch ${i % 40} step ${i} loss=${(1 / (i + 1)).toFixed(6)} acc=${(i % 100) / 100} lr=0.001 grad_norm=1.2345 tokens_per_s=51234`)
    else lines.push(`[${new Date(1e12 + i * 1000).toISOString()}] INFO trainer: batch ${i} of 2000 done in 0.0123s (data 0.0011s) mem=1234MiB`)
  }
  const block = Buffer.from(lines.join('\n') + '\n')
  let written = 0
  while (written < MB * 1e6) written += fs.writeSync(fd, block)
  fs.closeSync(fd)
  const size = fs.statSync(log).size

  const time = (fn) => {
    const xs = []
    for (let i = 0; i < 3; i++) {
      const t = process.hrtime.bigint()
      fn()
      xs.push(Number(process.hrtime.bigint() - t) / 1e9)
    }
    return xs.sort((a, b) => a - b)[1]
  }
  const sh = (cmd) => {
    const r = spawnSync('/bin/sh', ['-c', cmd], { env, stdio: ['ignore', 'ignore', 'pipe'] })
    if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`)
  }
  const scrubber = Scrubber.forEnv(env)
  const scrub = () => {
    const st = scrubber.stream()
    const buf = Buffer.alloc(64 * 1024)
    const inFd = fs.openSync(log, 'r')
    const outFd = fs.openSync('/dev/null', 'w')
    let n
    while ((n = fs.readSync(inFd, buf, 0, buf.length, null)) > 0) {
      const out = st.push(buf.subarray(0, n))
      if (out.length) fs.writeSync(outFd, out)
    }
    fs.writeSync(outFd, st.end())
    fs.closeSync(inFd)
    fs.closeSync(outFd)
  }
  const tCat = time(() => sh(`cat '${log}' > /dev/null`))
  const tSed = time(() => sh(`sed -e 's/hf_bench_secret_value_0123456789/***/g' -e 's#://app:benchpw42@#://app:***@#g' '${log}' > /dev/null`))
  const tScrub = time(scrub)
  const rss = process.memoryUsage().rss

  // end to end: xp run -- cat LOG (the log goes through the scrubber on its way to .xp/)
  const repo = path.join(work, 'repo')
  fs.mkdirSync(repo)
  spawnSync('git', ['init', '-q', '-b', 'main'], { cwd: repo, env })
  fs.writeFileSync(path.join(repo, 'README'), 'x\n')
  spawnSync('git', ['add', '-A'], { cwd: repo, env })
  spawnSync('git', ['commit', '-qm', 'i'], { cwd: repo, env })
  const tRun = time(() => {
    const r = spawnSync(process.execPath, [path.join(root, 'bin', 'xp.cjs'), 'run', '--', 'cat', log], { cwd: repo, env, stdio: ['ignore', 'ignore', 'pipe'] })
    if (r.status !== 0) throw new Error(String(r.stderr))
  })
  const stored = fs.readdirSync(path.join(repo, '.xp', 'runs')).map((id) => fs.readFileSync(path.join(repo, '.xp', 'runs', id, 'output.log'), 'latin1'))
  const leaks = stored.filter((s) => s.includes('benchpw42') || s.includes('hf_bench_secret_value')).length

  const mbps = (t) => `${(size / 1e6 / t).toFixed(0)} MB/s`
  console.log(`log: ${(size / 1e6).toFixed(0)} MB, ${stored.length} runs stored, ${leaks} with a secret left`)
  console.log(`what                                    time      throughput`)
  console.log(`cat LOG > /dev/null (floor)          ${tCat.toFixed(2).padStart(6)} s  ${mbps(tCat).padStart(10)}`)
  console.log(`sed, two literal substitutions       ${tSed.toFixed(2).padStart(6)} s  ${mbps(tSed).padStart(10)}`)
  console.log(`xp scrubber, streaming (64 KiB)      ${tScrub.toFixed(2).padStart(6)} s  ${mbps(tScrub).padStart(10)}   rss ${(rss / 2 ** 20).toFixed(0)} MiB`)
  console.log(`xp run -- cat LOG (end to end)       ${tRun.toFixed(2).padStart(6)} s  ${mbps(tRun).padStart(10)}`)
} finally {
  fs.rmSync(work, { recursive: true, force: true })
}
