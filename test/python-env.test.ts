// Python packages of the interpreter a run uses: read once per interpreter and cached
// (a second run starts no Python to ask), read again after a `pip install`, stored in the
// run's tree, and compared by `xp diff --env`. A real venv of the machine's python3, with
// distributions laid out as pip lays them out (`NAME-VERSION.dist-info`).
import { describe, it, expect, afterAll } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { TestRepo, cleanupTmp } from './helpers.js'
import { distFolder, interpreterWord } from '../src/core/runs/python-env.js'

afterAll(() => cleanupTmp())

function run(repo: TestRepo, args: string[]) {
  const r = repo.xp(['run', '--json', ...args])
  if (r.code !== 0) throw new Error(r.stderr)
  return JSON.parse(r.stdout)
}

function install(site: string, name: string, version: string) {
  const d = path.join(site, `${name}-${version}.dist-info`)
  fs.mkdirSync(d, { recursive: true })
  fs.writeFileSync(path.join(d, 'METADATA'), `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`)
}

describe('python packages', () => {
  it('records the venv packages, caches them per interpreter, sees a pip install, and xp diff --env shows it', () => {
    const repo = new TestRepo({ files: { 'train.py': 'print("ok")\n', '.gitignore': '.venv/\n' } })
    const venv = spawnSync('python3', ['-m', 'venv', '--without-pip', repo.path('.venv')], { encoding: 'utf8' })
    expect(venv.status, venv.stderr).toBe(0)
    const site = fs.readdirSync(repo.path('.venv/lib')).map((v) => repo.path('.venv/lib', v, 'site-packages'))[0]
    install(site, 'numpy', '1.26.4')
    install(site, 'scikit_learn', '1.4.2')

    const a = run(repo, ['-n', 'a', '--', '.venv/bin/python', 'train.py'])
    expect(repo.git('show', `${a.commit}:.xp-run/packages.txt`)).toBe('numpy==1.26.4\nscikit-learn==1.4.2\n')
    const cacheFile = repo.path('.xp/tmp/python-packages.json')
    const cached = fs.readFileSync(cacheFile, 'utf8')
    const before = fs.statSync(cacheFile).mtimeMs

    // nothing changed: the answer comes from the cache (the file is not written again)
    const b = run(repo, ['-n', 'b', '--', '.venv/bin/python', 'train.py'])
    expect(repo.git('show', `${b.commit}:.xp-run/packages.txt`)).toBe('numpy==1.26.4\nscikit-learn==1.4.2\n')
    expect(fs.statSync(cacheFile).mtimeMs).toBe(before)
    expect(fs.readFileSync(cacheFile, 'utf8')).toBe(cached)

    // pip install numpy==2.0.0 pandas: the folder's mtime moves, the next run reads again
    fs.rmSync(path.join(site, 'numpy-1.26.4.dist-info'), { recursive: true })
    install(site, 'numpy', '2.0.0')
    install(site, 'pandas', '2.2.1')
    const c = run(repo, ['-n', 'c', '--', 'sh', '-c', 'PYTHONHASHSEED=0 .venv/bin/python train.py'])
    expect(repo.git('show', `${c.commit}:.xp-run/packages.txt`)).toBe('numpy==2.0.0\npandas==2.2.1\nscikit-learn==1.4.2\n')

    const d = repo.json(['diff', 'a', 'c', '--env'])
    expect(d.env.packages).toEqual({ numpy: { old: '1.26.4', new: '2.0.0' }, pandas: { old: null, new: '2.2.1' } })
    const text = repo.xp(['diff', 'a', 'c', '--env'])
    expect(text.stdout).toMatch(/numpy\s+1\.26\.4\s+2\.0\.0\s+changed/)
    expect(text.stdout).toMatch(/pandas\s+-\s+2\.2\.1\s+added/)
    expect(repo.xp(['diff', 'a', 'b', '--env']).stdout).toMatch(/no Python package changed/)

    // a command that is not Python records no packages
    const e = run(repo, ['-n', 'e', '--', 'true'])
    expect(repo.git('ls-tree', '--name-only', e.commit, '.xp-run/')).not.toMatch(/packages/)
  })

  it('finds the interpreter of a command and parses pip folder names', () => {
    expect(interpreterWord({ file: 'python3', args: ['train.py'], display: '' }, '/')).toBe('python3')
    expect(interpreterWord({ file: '/bin/sh', args: ['-c', 'CUDA=0 .venv/bin/python -m train'], display: '' }, '/')).toBe('.venv/bin/python')
    expect(interpreterWord({ file: 'node', args: ['x.js'], display: '' }, '/')).toBeNull()
    expect(distFolder('scikit_learn-1.4.2.dist-info')).toEqual(['scikit-learn', '1.4.2'])
    expect(distFolder('PyYAML-6.0.1-py3.11.egg-info')).toEqual(['pyyaml', '6.0.1'])
    expect(distFolder('README.txt')).toBeNull()
  })
})
