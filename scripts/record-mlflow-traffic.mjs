#!/usr/bin/env node
// Record what MLflow's real Python client sends to `xp ui` and what xp answers, as a
// fixture the tests replay without Python or MLflow (test/mlflow-replay.test.ts).
//   usage: node scripts/record-mlflow-traffic.mjs XP_PORT SCRIPT.py OUT.jsonl
// Needs the real client (`. /work/mlflow-env/env.sh`); xp ui must be listening on XP_PORT.
import http from 'node:http'
import fs from 'node:fs'
import { spawn } from 'node:child_process'

const [xpPort, script, outFile] = process.argv.slice(2)
if (!outFile) {
  console.error('usage: record-mlflow-traffic.mjs XP_PORT SCRIPT.py OUT.jsonl')
  process.exit(2)
}
const out = fs.createWriteStream(outFile)
let seq = 0
const proxy = http.createServer((req, res) => {
  const chunks = []
  req.on('data', (d) => chunks.push(d))
  req.on('end', () => {
    const body = Buffer.concat(chunks)
    const headers = { ...req.headers, host: `127.0.0.1:${xpPort}` }
    const up = http.request({ host: '127.0.0.1', port: xpPort, method: req.method, path: req.url, headers }, (r) => {
      const rc = []
      r.on('data', (d) => rc.push(d))
      r.on('end', () => {
        const rb = Buffer.concat(rc)
        const isJson = (t) => /json/.test(String(t ?? ''))
        const rec = {
          seq: ++seq,
          method: req.method,
          url: req.url,
          ctype: req.headers['content-type'] ?? null,
          req: body.length ? (isJson(req.headers['content-type']) ? JSON.parse(body.toString()) : { base64: body.toString('base64') }) : null,
          status: r.statusCode,
          resp: isJson(r.headers['content-type']) ? JSON.parse(rb.toString() || 'null') : { base64: rb.toString('base64') },
        }
        out.write(JSON.stringify(rec) + '\n')
        res.writeHead(r.statusCode, r.headers)
        res.end(rb)
      })
    })
    up.end(body)
  })
})
proxy.listen(0, '127.0.0.1', () => {
  const port = /** @type {import('node:net').AddressInfo} */ (proxy.address()).port
  const child = spawn('/usr/bin/python3', [script], { env: { ...process.env, MLFLOW_TRACKING_URI: `http://127.0.0.1:${port}` }, stdio: 'inherit' })
  child.on('close', (code) => {
    proxy.close()
    out.end(() => process.exit(code ?? 1))
  })
})
