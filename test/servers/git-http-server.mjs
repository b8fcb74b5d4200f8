// Smart HTTP for git: each request runs `git http-backend` as CGI. Run as its own process
// (tests call the CLI synchronously, which would block a server in the test's process):
//   node git-http-server.mjs ROOT   -> prints the port on stdout, serves until killed.
import http from 'node:http'
import { spawn } from 'node:child_process'

const root = process.argv[2]
const server = http.createServer((req, res) => {
  const u = new URL(req.url ?? '/', 'http://127.0.0.1')
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GIT_CONFIG_NOSYSTEM: '1',
    HOME: '/nonexistent',
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    REMOTE_USER: 'test', // enables receive-pack
    REMOTE_ADDR: '127.0.0.1',
    PATH_INFO: decodeURIComponent(u.pathname),
    QUERY_STRING: u.search.replace(/^\?/, ''),
    REQUEST_METHOD: req.method ?? 'GET',
    CONTENT_TYPE: String(req.headers['content-type'] ?? ''),
    GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
  }
  if (req.headers['content-length']) env.CONTENT_LENGTH = String(req.headers['content-length'])
  if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = String(req.headers['content-encoding'])
  const cgi = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'ignore'] })
  req.pipe(cgi.stdin)
  cgi.stdin.on('error', () => {})
  let head = Buffer.alloc(0)
  let headDone = false
  cgi.stdout.on('data', (d) => {
    if (headDone) return void res.write(d)
    head = Buffer.concat([head, d])
    let sep = head.indexOf('\r\n\r\n')
    let sepLen = 4
    if (sep < 0) {
      sep = head.indexOf('\n\n')
      sepLen = 2
    }
    if (sep < 0) return
    headDone = true
    let status = 200
    for (const line of head.subarray(0, sep).toString('latin1').split(/\r?\n/)) {
      const i = line.indexOf(':')
      if (i < 0) continue
      const k = line.slice(0, i).trim()
      const v = line.slice(i + 1).trim()
      if (k.toLowerCase() === 'status') status = parseInt(v, 10)
      else res.setHeader(k, v)
    }
    res.writeHead(status)
    res.write(head.subarray(sep + sepLen))
  })
  cgi.on('close', () => {
    if (!headDone) res.writeHead(500)
    res.end()
  })
})
server.listen(0, '127.0.0.1', () => process.stdout.write(`${/** @type {import('node:net').AddressInfo} */ (server.address()).port}\n`))
process.on('SIGTERM', () => process.exit(0))
