#!/usr/bin/env node
// `xp`: the bundle in dist/. The npm package ships it; a checkout makes it with `npm run build`.
import('../dist/bin.js').catch((e) => {
  if (e?.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist/bin.js')) {
    process.stderr.write(`xp: error: xp is not built in ${new URL('..', import.meta.url).pathname} [XP_NOT_BUILT]\n  hint: run \`npm run build\` there\n`)
    process.exit(1)
  }
  throw e
})
