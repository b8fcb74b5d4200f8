import { build } from 'esbuild'
await build({ entryPoints: ['src/core/registry/fold.ts'], bundle: true, format: 'esm', platform: 'node', outfile: '/work/wt-registry/.scratch/bundle2.mjs', logLevel: 'warning', minify: false })
const { foldRegistry } = await import('/work/wt-registry/.scratch/bundle2.mjs')
const { parseRegistryTag } = await import('/work/wt-registry/.scratch/bundle2.mjs').catch(() => ({}))
const events = []
let t = 1700000000
for (let a = 0; a < 1000; a++) { let c = 0; for (let v = 0; v < 10; v++) { const commit = String((a + v * 100) % 1000).padStart(40, '0'); events.push({ tag: `model-${a}@v1.${v}.0`, time: ++t, commit, tagger: 'B', email: 'b', message: 'm' }); for (const s of ['staging', 'production']) events.push({ tag: `model-${a}#${s}#${++c}`, time: ++t, commit, tagger: 'B', email: 'b', message: 'm' }) } }
const cpu = (f) => { const c0 = process.cpuUsage(); f(); const c = process.cpuUsage(c0); return ((c.user + c.system) / 1000).toFixed(1) }
for (let i = 0; i < 3; i++) console.log('fold', cpu(() => foldRegistry(events)), 'one artifact x1000', cpu(() => { for (let k = 0; k < 1000; k++) foldRegistry(events.slice(0, 30)) }))
