#!/usr/bin/env node
// `xp`: the bundle in dist/, started by its launcher. The npm package ships it; a checkout
// makes it with `npm run build`.
'use strict'
let launcher
try {
  launcher = require('../dist/bin.cjs')
} catch (e) {
  if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes('dist/bin.cjs')) {
    process.stderr.write(`xp: error: xp is not built in ${require('node:path').resolve(__dirname, '..')} [XP_NOT_BUILT]\n  hint: run \`npm run build\` there\n`)
    process.exit(1)
  }
  throw e
}
launcher.load().launch()
