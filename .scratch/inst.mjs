import fs from 'node:fs'
import { build } from 'esbuild'
let src = fs.readFileSync('src/core/registry/fold.ts', 'utf8')
// timers around the phases of foldArtifact
src = src.replace("function foldArtifact(name: string, events: RegistryEvent[], problems: string[]): ArtifactState {", "export const T: Record<string, number> = {}\nconst tick = (k: string, s: number) => { T[k] = (T[k] ?? 0) + performance.now() - s; return performance.now() }\nfunction foldArtifact(name: string, events: RegistryEvent[], problems: string[]): ArtifactState {\n  let s = performance.now()")
src = src.replace("  for (const v of versions.values()) v.active = v.lastDirect === 'register'\n", "  for (const v of versions.values()) v.active = v.lastDirect === 'register'\n  s = tick('versions', s)\n")
src = src.replace("  const stageEvents: Record", "  s = tick('vstage', s)\n  const stageEvents: Record")
src = src.replace("  const all: VersionState[]", "  s = tick('stages', s)\n  const all: VersionState[]")
src = src.replace("  const latest = all.find", "  s = tick('sortversions', s)\n  const latest = all.find")
src = src.replace("  return {\n    name,", "  s = tick('latest', s)\n  return {\n    name,")
fs.writeFileSync('.scratch/fold-inst.ts', src.replaceAll("from './", "from '../src/core/registry/"))
await build({ entryPoints: ['.scratch/fold-inst.ts'], bundle: true, format: 'esm', platform: 'node', outfile: '.scratch/inst-bundle.mjs', logLevel: 'warning' })
const { foldRegistry, T } = await import('/work/wt-registry/.scratch/inst-bundle.mjs')
const events = []
let t = 1700000000
for (let a = 0; a < 1000; a++) { let c = 0; for (let v = 0; v < 10; v++) { const commit = String((a + v * 100) % 1000).padStart(40, '0'); events.push({ tag: `model-${a}@v1.${v}.0`, time: ++t, commit, tagger: 'B', email: 'b', message: 'm' }); for (const s of ['staging', 'production']) events.push({ tag: `model-${a}#${s}#${++c}`, time: ++t, commit, tagger: 'B', email: 'b', message: 'm' }) } }
for (let i = 0; i < 3; i++) { for (const k in T) T[k] = 0; const s = performance.now(); foldRegistry(events); console.log((performance.now() - s).toFixed(0), JSON.stringify(Object.fromEntries(Object.entries(T).map(([k, v]) => [k, v.toFixed(0)])))) }
