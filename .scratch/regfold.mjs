import { build } from 'esbuild'
await build({ entryPoints: ['src/core/registry/fold.ts'], bundle: true, format: 'esm', platform: 'node', outfile: '/work/wt-registry/.scratch/bundle.mjs', logLevel: 'warning' })
const { foldRegistry, gtoShow } = await import('/work/wt-registry/.scratch/bundle.mjs')
const events = []
const T = 1700000000
let t = T
for (let a = 0; a < 1000; a++) { let c = 0; for (let v = 0; v < 10; v++) { const commit = String((a + v * 100) % 1000).padStart(40, '0'); events.push({ tag: `model-${a}@v1.${v}.0`, time: ++t, commit, tagger: 'B', email: 'b', message: 'm' }); for (const s of ['staging', 'production']) events.push({ tag: `model-${a}#${s}#${++c}`, time: ++t, commit, tagger: 'B', email: 'b', message: 'm' }) } }
for (let i = 0; i < 3; i++) { const c0 = process.cpuUsage(); const s = performance.now(); const st = foldRegistry(events); const m = performance.now(); const c1 = process.cpuUsage(c0); gtoShow(st); console.log('fold wall', (m - s).toFixed(1), 'cpu', ((c1.user + c1.system) / 1000).toFixed(1)) }
