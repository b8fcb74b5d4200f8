/** The path guard and the secret scrubber as pure functions (core/safety). */
import fs from 'node:fs'
import path from 'node:path'
import { describe, it, expect, afterAll } from 'vitest'
import { checkRelPath, guardWrite, guardRead, leftOutOfSnapshot } from '../src/core/safety/paths.js'
import { Scrubber, redactArgv, redactCommandLine, maskUrl, secretValues } from '../src/core/safety/secrets.js'
import { tmpDir, cleanupTmp } from './helpers.js'

afterAll(cleanupTmp)

const code = (f: () => unknown) => {
  try {
    f()
    return 'ok'
  } catch (e) {
    return (e as { code?: string }).code
  }
}

describe('checkRelPath', () => {
  it('takes plain relative paths', () => {
    for (const p of ['a', 'data/train.csv', 'a/.gitignore', 'x/.github/ci.yml', 'weird name/é.csv', 'a..b/c', '.hidden/f', '100%/x'])
      expect(code(() => checkRelPath(p))).toBe('ok')
  })
  it('refuses escapes, absolute paths, encoded tricks, NUL, drive letters, backslashes and .git in any form', () => {
    const bad = [
      '',
      '../x',
      'a/../../x',
      '/etc/passwd',
      'a//b',
      './a',
      'a/.',
      'a\0b',
      'C:/Windows',
      'c:x',
      'a\\..\\x',
      'a\\b',
      '.git/config',
      '.GIT/hooks/x',
      'a/.Git',
      '.git./config',
      '.git /x',
      'git~1/config',
      '%2e%2e/x',
      'a/%2E%2E/%2e%2e/x',
      '..%2fx',
      '%2fetc/passwd',
      '\uff0e\uff0e/x',
      'a/.g\u200cit/config',
      '%00x',
    ]
    for (const p of bad) expect([p, code(() => checkRelPath(p))]).toEqual([p, 'XP_UNSAFE_PATH'])
    expect(code(() => checkRelPath(5))).toBe('XP_UNSAFE_PATH')
  })
})

describe('guardWrite and guardRead', () => {
  it('refuses any symlinked folder on the way of a write, and reads that resolve outside', () => {
    const root = tmpDir()
    const outside = tmpDir()
    fs.mkdirSync(path.join(root, 'real'))
    fs.symlinkSync(outside, path.join(root, 'out'))
    fs.symlinkSync('real', path.join(root, 'in'))
    fs.writeFileSync(path.join(outside, 'secret.yaml'), 'a: 1\n')
    fs.symlinkSync(path.join(outside, 'secret.yaml'), path.join(root, 'p.yaml'))
    expect(code(() => guardWrite(root, 'real/new/f'))).toBe('ok')
    expect(code(() => guardWrite(root, 'out'))).toBe('ok') // the last component is replaced, not followed
    expect(code(() => guardWrite(root, 'out/f'))).toBe('XP_UNSAFE_PATH')
    expect(code(() => guardWrite(root, 'in/f'))).toBe('XP_UNSAFE_PATH') // even inside: never through a symlink
    expect(code(() => guardRead(root, 'in/f'))).toBe('ok')
    expect(code(() => guardRead(root, 'out/f'))).toBe('XP_UNSAFE_PATH')
    expect(code(() => guardRead(root, 'p.yaml'))).toBe('XP_UNSAFE_PATH')
  })
})

describe('leftOutOfSnapshot', () => {
  it('leaves out files that look like secrets unless included, and whatever exclude names', () => {
    const files = [
      'train.py',
      '.env',
      '.env.local',
      '.env.example',
      'conf/gcp-credentials.json',
      'k.pem',
      'keys/id_rsa',
      'keys/id_rsa.pub',
      '.netrc',
      'tls.key',
      'kubeconfig',
      '.kube/config',
      'notes.md',
      'scratch/tmp.bin',
    ]
    expect(leftOutOfSnapshot(files, {})).toEqual([
      '.env',
      '.env.local',
      'conf/gcp-credentials.json',
      'k.pem',
      'keys/id_rsa',
      '.netrc',
      'tls.key',
      'kubeconfig',
      '.kube/config',
    ])
    expect(leftOutOfSnapshot(files, { include: ['tls.key', 'conf/*.json'], exclude: ['scratch/**'] })).toEqual([
      '.env',
      '.env.local',
      'k.pem',
      'keys/id_rsa',
      '.netrc',
      'kubeconfig',
      '.kube/config',
      'scratch/tmp.bin',
    ])
  })
})

describe('the secret scrubber', () => {
  const env = { HF_TOKEN: 'hf_live_value_123456', DATABASE_URL: 'postgres://app:dbpass99@db.internal:5432/prod', HOME: '/home/u', SHORT_KEY: 'abc' }
  const s = Scrubber.forEnv(env)
  it('knows the environment by name and by value', () => {
    expect(secretValues(env)).toEqual(['hf_live_value_123456', 'dbpass99'])
    expect(s.text('loaded hf_live_value_123456 ok; pw dbpass99')).toBe('loaded *** ok; pw ***')
  })
  it('masks URL passwords, connection strings, token shapes, assignments and key blocks', () => {
    const cases: Array<[string, string]> = [
      ['connect postgres://u:s3cr3t@h/db now', 'connect postgres://u:***@h/db now'],
      ['https://bob:pw@host/r.git', 'https://bob:***@host/r.git'],
      [
        'DefaultEndpointsProtocol=https;AccountName=acc;AccountKey=abc+def/ghi==;EndpointSuffix=core',
        'DefaultEndpointsProtocol=https;AccountName=acc;AccountKey=***;EndpointSuffix=core',
      ],
      ['Server=x;User Id=sa;Password=Hunter2!;', 'Server=x;User Id=sa;Password=***;'],
      ['key id AKIAIOSFODNN7EXAMPLE used', 'key id *** used'],
      ['ghp_abcdefghijklmnopqrstuvwxyz0123456789 and glpat-abcdefghijklmnopqrst12', '*** and ***'],
      ['slack xoxb-1234567890-abcdefghij', 'slack ***'],
      ['jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlX3g done', 'jwt *** done'],
      ['Authorization: Bearer abcdef123456', 'Authorization: Bearer ***'],
      ['aws_secret_access_key = wJalrXUtnFEMI/K7MDENG', 'aws_secret_access_key = ***'],
      ['{"password": "p4ssw0rd"}', '{"password": "***"}'],
      ['num_tokens=512 tokenizer=bert max_key=3 lr=0.1', 'num_tokens=512 tokenizer=bert max_key=3 lr=0.1'],
    ]
    for (const [i, o] of cases) expect(s.text(i)).toBe(o)
    expect(s.text('a\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nxyz\n-----END RSA PRIVATE KEY-----\nb')).toBe(
      'a\n-----BEGIN RSA PRIVATE KEY-----\n***\n-----END RSA PRIVATE KEY-----\nb',
    )
  })
  it('streams: tokens split across chunks, key blocks across lines, bytes that are not UTF-8 kept', () => {
    const st = s.stream()
    const input = Buffer.concat([
      Buffer.from('x postgres://u:topsecret@h/d\n-----BEGIN PRIVATE KEY-----\nAAAA\nBBBB\n-----END PRIVATE KEY-----\n'),
      Buffer.from([0xff, 0xfe, 0x0a]),
      Buffer.from('tail hf_live_value_123456'),
    ])
    const parts: Buffer[] = []
    for (let i = 0; i < input.length; i += 7) parts.push(st.push(input.subarray(i, i + 7)))
    parts.push(st.end())
    const out = Buffer.concat(parts)
    expect(out.toString('latin1')).toBe('x postgres://u:***@h/d\n-----BEGIN PRIVATE KEY-----\n***\n***\n-----END PRIVATE KEY-----\n\xff\xfe\ntail ***')
  })
  it('redacts command lines', () => {
    const none = new Scrubber()
    expect(redactArgv(['python', 'train.py', '--api-key=K1', '--token', 'T1', '--password', 'P1', '--lr', '0.1'], none)).toEqual([
      'python',
      'train.py',
      '--api-key=***',
      '--token',
      '***',
      '--password',
      '***',
      '--lr',
      '0.1',
    ])
    expect(redactArgv(['mysql', '-u', 'root', '-pS3cret', 'db'], none)).toEqual(['mysql', '-u', 'root', '-p***', 'db'])
    expect(redactArgv(['sshpass', '-p', 'S3cret', 'ssh', 'h'], none)).toEqual(['sshpass', '-p', '***', 'ssh', 'h'])
    expect(redactArgv(['curl', '-u', 'bob:pw', 'https://x'], none)).toEqual(['curl', '-u', 'bob:***', 'https://x'])
    expect(redactArgv(['git', 'clone', 'https://bob:pw@host/r.git'], none)).toEqual(['git', 'clone', 'https://bob:***@host/r.git'])
    expect(redactArgv(['python', 'serve.py', '-p', '8080'], none)).toEqual(['python', 'serve.py', '-p', '8080'])
    expect(redactCommandLine(`python train.py --token 'T 1' --db-password=x1 psql postgres://a:b@h/d`, none)).toBe(
      'python train.py --token *** --db-password=*** psql postgres://a:***@h/d',
    )
    expect(maskUrl('s3://AKIAX:secret@bucket/p?X-Amz-Signature=abc')).toBe('s3://AKIAX:***@bucket/p?X-Amz-Signature=***')
  })
})

describe('secret names', () => {
  it('take tokens and keys, not the author or the desktop session', () => {
    const env = {
      GIT_AUTHOR_NAME: 'Test User',
      XDG_SESSION_DESKTOP: 'ubuntu',
      XAUTHORITY: '/run/user/1000/gdm/Xauthority',
      NPM_AUTH_TOKEN: 'npm-secret-1',
      MY_API_KEY: 'k-123456',
    }
    expect(secretValues(env).sort()).toEqual(['k-123456', 'npm-secret-1'])
  })
})

describe('command-line secrets hunted in the output', () => {
  it('are the values the redaction hid, from an argv or a shell line', async () => {
    const { argvSecrets, commandLineSecrets } = await import('../src/core/safety/secrets.js')
    expect(argvSecrets(['t', '--token', 'abcd1234', '--api-key=k-9876', 'mysql', '-pS3cretpw'])).toEqual(['abcd1234', 'k-9876', 'S3cretpw'])
    expect(commandLineSecrets(`python t.py --password 'pw 1234' --lr 0.1`)).toEqual(['pw 1234'])
  })
})
