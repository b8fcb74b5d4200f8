// Bundle the CLI into dist/ with one chunk per command, so `xp --help` loads only yargs,
// and the page of `xp ui` into dist/ui/app.js + app.css (served by the server, no CDN).
import { build } from 'esbuild'
import { rmSync } from 'node:fs'

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true })
await Promise.all([
  build({
    entryPoints: { bin: 'src/cli/bin.ts' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outdir: 'dist',
    sourcemap: 'linked',
    logLevel: 'warning',
    banner: { js: "import { createRequire as __xpCreateRequire } from 'node:module'; const require = __xpCreateRequire(import.meta.url);" },
    // the AWS SDK and the browser driver are large and optional: load them from node_modules
    external: ['@aws-sdk/*', '@smithy/*', 'playwright-core', 's3rver'],
  }),
  build({
    entryPoints: [
      { in: 'src/ui/app/main.ts', out: 'app' },
      { in: 'src/ui/app/style.css', out: 'app' },
    ],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    outdir: 'dist/ui',
    minify: true,
    logLevel: 'warning',
  }),
])
