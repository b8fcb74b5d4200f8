// Bundle the CLI into dist/ with one chunk per command, so `xp --help` loads only yargs.
import { build } from 'esbuild'
import { rmSync } from 'node:fs'

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true })
await build({
  // main.js: the CLI's main() for in-process callers (the tests' worker); bin.js imports it too
  entryPoints: { bin: 'src/cli/bin.ts', main: 'src/cli/index.ts' },
  bundle: true,
  splitting: true,
  format: 'esm',
  supported: { 'top-level-await': true },
  platform: 'node',
  target: 'node20',
  outdir: 'dist',
  sourcemap: 'linked',
  // less to parse at every start; identifiers are kept so stack traces stay readable
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  banner: { js: "import { createRequire as __xpCreateRequire } from 'node:module'; const require = __xpCreateRequire(import.meta.url);" },
  // the AWS SDK and the browser driver are large and optional: load them from node_modules
  external: ['@aws-sdk/*', '@smithy/*', 'playwright-core', 's3rver'],
})

// The page of `xp ui`: dist/ui/app.js + app.css, served by the server (no CDN, no network).
await build({
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
})

// Save the top-level help as yargs renders it, so `xp --help` need not load yargs.
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
const help = execFileSync(process.execPath, ['dist/bin.js', '--help', '--no-saved-help'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } })
writeFileSync('dist/help.txt', help)
