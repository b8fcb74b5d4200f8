// Issue 11, secrets: a scenario puts secrets in the environment, on command lines, in
// files (.env, credentials) and in a command's output; then every git object (commits,
// trees, blobs, notes, tags), every queue file and every file under .xp/ is searched for
// each secret value: zero hits. Also: printed URLs are masked, and `xp ui` off loopback
// needs a token for every request and keeps a Host allow-list.
import { describe, it, expect, afterAll } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import http from 'node:http'
import { spawnSync, type ChildProcess } from 'node:child_process'
import { TestRepo, cleanupTmp, errorCode, type Result } from './helpers.js'

afterAll(cleanupTmp)

function ok(r: Result): Result {
  if (r.code !== 0) throw new Error(`xp exited ${r.code}: ${r.stderr}`)
  return r
}

const S = {
  hf: 'hf_ScanTestTokenValue0123456789abcd',
  dbpw: 'dbPassw0rdScan',
  azure: 'AzUrEkEyScan0123456789+/abcdef==',
  cliKey: 'cliApiKeyScan42',
  cliToken: 'cliTokenScan43',
  cliPw: 'cliPasswordScan44',
  urlPw: 'urlPwScan45',
  aws: 'AKIAIOSFODNN7SCANTST',
  ghp: 'ghp_ScanScanScanScanScanScanScanScan1234',
  pem: 'MIIEpQIBAAKCAQEAscanPRIVATEkeyBODY',
  jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzY2FuIn0.c2NhbnNpZ25hdHVyZQ',
  dotenv: 'dotenvSecretScan46',
  creds: 'credsJsonSecretScan47',
  netrc: 'netrcSecretScan48',
  rsa: 'idRsaSecretScan49',
  pushPw: 'pushPwScan51',
}

/** Every place a secret could be stored: all git objects (with notes and tags), and every file under .xp/. */
function storedText(repo: TestRepo): Array<{ where: string; text: string }> {
  const out: Array<{ where: string; text: string }> = []
  const all = spawnSync('git', ['cat-file', '--batch-all-objects', '--batch'], { cwd: repo.dir, env: repo.env, maxBuffer: 512 * 1024 * 1024 })
  out.push({ where: 'git objects', text: all.stdout.toString('latin1') })
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d)) {
      const full = path.join(d, name)
      const st = fs.lstatSync(full)
      if (st.isDirectory()) walk(full)
      else if (st.isFile()) out.push({ where: path.relative(repo.dir, full), text: fs.readFileSync(full, 'latin1') })
    }
  }
  walk(repo.path('.xp'))
  return out
}

describe('the scan: no secret value anywhere xp stores', () => {
  it('environment, command lines, files, printed output, notes, tags, queue: zero hits', () => {
    const repo = new TestRepo({
      files: {
        'README.md': 'x\n',
        'params.yaml': 'lr: 0.1\n',
        'xp.yaml': 'outs: [model.bin]\nartifacts:\n  m: {path: model.bin}\n',
        '.gitignore': 'model.bin\n',
      },
    })
    repo.env = {
      ...repo.env,
      HF_TOKEN: S.hf,
      DATABASE_URL: `postgres://app:${S.dbpw}@db.internal:5432/prod`,
      AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=https;AccountName=acc;AccountKey=${S.azure};EndpointSuffix=core.windows.net`,
      XP_ENV_VARS: '*',
      // values found by their shape only: the variables' names say nothing
      OUT_A: S.aws,
      OUT_B: S.ghp,
      OUT_C: S.jwt,
      PRIVATE_KEY_BODY: S.pem,
    }
    repo.write('.env', `API_SECRET=${S.dotenv}\n`)
    repo.write('conf/gcp-credentials.json', `{"private_key_id": "${S.creds}"}\n`)
    repo.write('.netrc', `machine h login u password ${S.netrc}\n`)
    repo.write('keys/id_rsa', `${S.rsa}\n`)
    // a command that prints secrets of every kind, called with secrets on its command line
    const script = [
      'echo "db: $DATABASE_URL"',
      'echo "azure: $AZURE_STORAGE_CONNECTION_STRING"',
      'echo "hf: $HF_TOKEN"',
      'echo "aws $OUT_A gh $OUT_B jwt $OUT_C"',
      'printf -- "-----BEGIN RSA PRIVATE KEY-----\\n%s\\n-----END RSA PRIVATE KEY-----\\n" "$PRIVATE_KEY_BODY"',
      'echo "args: $*"',
      'head -c 1000 /dev/zero > model.bin',
    ].join('\n')
    repo.write('train.sh', script + '\n')
    repo.git('add', 'train.sh')
    repo.git('commit', '-qm', 'train')
    const r = repo.xp([
      'run',
      '-n',
      'leaky',
      '-m',
      `uses ${S.hf}`,
      '--',
      'sh',
      'train.sh',
      `--api-key=${S.cliKey}`,
      '--token',
      S.cliToken,
      '--password',
      S.cliPw,
      `https://bob:${S.urlPw}@host/x`,
    ])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/left out of the run's snapshot.*\.env.*conf\/gcp-credentials\.json/)
    const run = JSON.parse(ok(repo.xp(['show', 'leaky', '--json'])).stdout)[0]
    expect(run.command).toBe('sh train.sh --api-key=*** --token *** --password *** https://bob:***@host/x')
    expect(run.left_out).toEqual(expect.arrayContaining(['.env', '.netrc', 'conf/gcp-credentials.json', 'keys/id_rsa']))
    expect(run.env.vars.DATABASE_URL).toBe('postgres://app:***@db.internal:5432/prod')
    expect(run.env.vars.HF_TOKEN).toBe('***')
    // a failing run keeps its error tail, scrubbed
    repo.xp(['run', '-n', 'fails', '--', 'sh', '-c', 'echo "$HF_TOKEN"; exit 3'])
    // notes and tag messages
    ok(repo.xp(['note', 'leaky', `token was ${S.hf}, ghp ${S.ghp}`]))
    ok(repo.xp(['model', 'register', 'm', 'leaky', '-m', `registered with ${S.hf}`]))
    // the queue: a secret on its command line is refused (a task file would have to keep it)
    const q = repo.xp(['run', '--queue', '--', 'sh', 'train.sh', '--token', S.cliToken])
    expect(errorCode(q)).toBe('XP_SECRET_IN_COMMAND')
    ok(repo.xp(['run', '--queue', '-n', 'queued', '-m', `queued with ${S.hf}`, '--', 'sh', 'train.sh']))
    ok(repo.xp(['queue', 'start']))
    // push to a URL with a password: the error names it masked
    const p = repo.xp(['push', `https://bob:${S.pushPw}@127.0.0.1:9/r.git`])
    expect(p.code).not.toBe(0)
    expect(p.stderr).toContain('bob:***@127.0.0.1')
    expect(p.stderr).not.toContain(S.pushPw)

    const secrets = Object.entries(S)
    const hits: string[] = []
    for (const { where, text } of storedText(repo)) for (const [k, v] of secrets) if (text.includes(v)) hits.push(`${k} in ${where}`)
    expect(hits).toEqual([])
    // the things themselves are there, masked: the log and the record say what happened
    const log = repo.git('show', `${run.commit}:.xp-run/output.log`)
    expect(log).toContain('db: postgres://app:***@db.internal:5432/prod')
    expect(log).toContain('AccountKey=***;')
    expect(log).toContain('-----BEGIN RSA PRIVATE KEY-----\n***\n-----END RSA PRIVATE KEY-----')
    expect(repo.git('ls-tree', '-r', '--name-only', run.commit)).not.toMatch(/\.env|credentials|id_rsa|\.netrc/)
  })

  it('snapshot.include keeps a secret-looking file in runs; snapshot.exclude leaves any file out', () => {
    const repo = new TestRepo({
      files: { 'README.md': 'x\n', 'xp.yaml': 'snapshot:\n  include: [conf/*.key]\n  exclude: ["scratch/**"]\n  max_file_size: 100\n' },
    })
    repo.write('conf/public-test.key', 'not a secret\n')
    // over max_file_size: a secret-looking file is not cached as data either (data is pushed too)
    repo.write('conf/secrets.json', `{"k": "${'LargeSecretScan'.repeat(20)}"}\n`)
    repo.write('scratch/big.txt', 'junk\n')
    repo.write('.env', 'A=1\n')
    const r = ok(repo.xp(['run', '--json', '--', 'true']))
    const files = repo.git('ls-tree', '-r', '--name-only', JSON.parse(r.stdout).commit)
    expect(files).toContain('conf/public-test.key')
    expect(files).not.toMatch(/scratch|\.env|secrets\.json/)
    expect(
      storedText(repo)
        .filter((x) => x.text.includes('LargeSecretScan'))
        .map((x) => x.where),
    ).toEqual([])
    expect(r.stderr).toMatch(/left out of the run's snapshot.*conf\/secrets\.json/)
    expect(r.stderr).toMatch(/left out of the run's snapshot.*scratch\/big\.txt/)
    // a tracked file is the user's choice: it stays
    repo.git('add', '-f', '.env')
    repo.git('commit', '-qm', 'env on purpose')
    const r2 = ok(repo.xp(['run', '--json', '--', 'true']))
    expect(repo.git('ls-tree', '-r', '--name-only', JSON.parse(r2.stdout).commit)).toContain('.env')
  })

  it('xp remote list and errors mask a password hand-edited into xp.yaml', () => {
    const repo = new TestRepo({ files: { 'README.md': 'x\n' } })
    repo.write('xp.yaml', `remotes:\n  s: {url: "s3://AKIAIOSFODNN7SCANTST:wJalrSecretScan@bucket/p"}\n  h: {url: "s3://u:HttpPwScan@host/store"}\n`)
    const list = ok(repo.xp(['remote', 'list']))
    const json = ok(repo.xp(['remote', 'list', '--json']))
    for (const out of [list.stdout, json.stdout]) {
      expect(out).not.toMatch(/wJalrSecretScan|HttpPwScan|AKIAIOSFODNN7SCANTST/)
      expect(out).toContain('s3://u:***@host/store')
    }
    const e = repo.xp(['remote', 'add', 'h', 's3://other/p'])
    expect(errorCode(e)).toBe('XP_REMOTE_EXISTS')
    expect(e.stderr).toContain('s3://u:***@host/store')
  })
})

function request(port: number, p: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method: 'GET', headers }, (res) => {
      let body = ''
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

async function startUi(repo: TestRepo, args: string[]): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = repo.spawnXp(['ui', '--port', '0', ...args])
  let out = ''
  let err = ''
  child.stderr!.on('data', (d) => (err += d))
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d
      const m = /http:\/\/\S+/.exec(out)
      if (m && out.includes('\n')) resolve(m[0])
    })
    child.on('exit', (code) => reject(new Error(`xp ui exited ${code}: ${err}`)))
  })
  return { child, url, stderr: () => err }
}

describe('xp ui off loopback', () => {
  it('warns, needs the token for every request (header or cookie from ?token=), and keeps a Host allow-list', async () => {
    const repo = new TestRepo({ files: { 'README.md': 'x\n' } })
    ok(repo.xp(['run', '-n', 'one', '--', 'true']))
    const ui = await startUi(repo, ['--host', '0.0.0.0', '--allow-host', 'box.lan'])
    try {
      const u = new URL(ui.url)
      const port = Number(u.port)
      const token = u.searchParams.get('token')!
      expect(token).toMatch(/^[A-Za-z0-9_-]{20,}$/)
      await new Promise((r) => setTimeout(r, 100))
      expect(ui.stderr()).toMatch(/warning: xp ui listens on 0\.0\.0\.0, reachable from the network/)
      const host = { host: `127.0.0.1:${port}` }
      for (const p of ['/', '/api/runs', '/assets/app.js', '/api/runs/one/log', '/nothing'])
        expect([p, (await request(port, p, host)).status]).toEqual([p, 401])
      expect((await request(port, '/api/runs', { ...host, authorization: 'Bearer wrong' })).status).toBe(401)
      expect((await request(port, '/api/runs', { ...host, authorization: `Bearer ${token}` })).status).toBe(200)
      const visit = await request(port, `/?token=${token}`, host)
      expect(visit.status).toBe(302)
      expect(visit.headers.location).toBe('/')
      const cookie = String(visit.headers['set-cookie']![0]).split(';')[0]
      expect(visit.headers['set-cookie']![0]).toMatch(/HttpOnly; SameSite=Strict/)
      expect((await request(port, '/api/runs', { ...host, cookie })).status).toBe(200)
      expect((await request(port, '/', { ...host, cookie })).body).toContain('xp-token')
      // DNS rebinding: a name not allowed is refused even with the token; an allowed one passes
      expect((await request(port, '/api/runs', { host: `evil.example:${port}`, authorization: `Bearer ${token}` })).status).toBe(421)
      expect((await request(port, '/api/runs', { host: `box.lan:${port}`, authorization: `Bearer ${token}` })).status).toBe(200)
    } finally {
      ui.child.kill('SIGTERM')
    }
    // a token from .xp/config.local.yaml is used as is
    repo.write('.xp/config.local.yaml', 'ui:\n  token: fixed-token-from-config-0123\n')
    const ui2 = await startUi(repo, ['--host', '0.0.0.0'])
    try {
      expect(new URL(ui2.url).searchParams.get('token')).toBe('fixed-token-from-config-0123')
      const port = Number(new URL(ui2.url).port)
      expect((await request(port, '/api/runs', { host: `127.0.0.1:${port}`, authorization: 'Bearer fixed-token-from-config-0123' })).status).toBe(200)
    } finally {
      ui2.child.kill('SIGTERM')
    }
  })

  it('on loopback needs no token and still refuses other Host names', async () => {
    const repo = new TestRepo({ files: { 'README.md': 'x\n' } })
    const ui = await startUi(repo, [])
    try {
      const port = Number(new URL(ui.url).port)
      expect(ui.url).not.toContain('token')
      expect((await request(port, '/api/runs', { host: `127.0.0.1:${port}` })).status).toBe(200)
      expect((await request(port, '/api/runs', { host: `evil.example:${port}` })).status).toBe(421)
    } finally {
      ui.child.kill('SIGTERM')
    }
  })
})
