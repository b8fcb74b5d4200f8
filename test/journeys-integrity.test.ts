// Journeys where what is shared goes wrong or is written by two people at once: a data
// remote whose object was damaged after the push, and notes written in two clones.
import { describe, it, expect, afterAll } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { TestRepo, cleanupTmp, tmpDir, errorCode } from './helpers.js'
import { makeBare } from './servers/git.js'

afterAll(() => cleanupTmp())

const ok = (r: { code: number; stderr: string }) => expect(r.code, r.stderr).toBe(0)

function shared() {
  const repo = new TestRepo({ files: { 'README.md': '# m\n', 'params.yaml': 'lr: 0.1\n', 'xp.yaml': 'params: [params.yaml]\nouts: [model.bin]\n' } })
  const store = tmpDir('xp-journey-data-')
  const bare = makeBare(tmpDir('xp-journey-git-'))
  ok(repo.xp(['remote', 'add', 'storage', store, '--default']))
  repo.git('add', '-A')
  repo.git('commit', '-qm', 'project')
  repo.git('remote', 'add', 'origin', bare)
  repo.git('push', '-q', 'origin', 'main')
  const clone = () => {
    const c = new TestRepo({ init: false })
    c.git('clone', '-q', '-b', 'main', bare, '.')
    return c
  }
  return { repo, store, bare, clone }
}

describe('journey: a damaged object on the data remote', () => {
  it("a fresh clone's apply refuses the damaged bytes and writes nothing; repaired as the error says, it applies", () => {
    const { repo, store, clone } = shared()
    ok(repo.xp(['run', '-n', 'good', '-S', 'lr=0.3', '--', 'sh', '-c', 'printf "weights 0.3" > model.bin']))
    ok(repo.xp(['push', 'origin']))
    const [run] = repo.json(['show'])
    const oid: string = run.outs['model.bin'].oid
    const obj = path.join(store, oid.slice(0, 2), oid.slice(2))
    expect(fs.readFileSync(obj, 'utf8')).toBe('weights 0.3')
    fs.chmodSync(obj, 0o644)
    fs.writeFileSync(obj, 'weights 0.9') // bit rot, or a bad copy, after the push

    const c = clone()
    ok(c.xp(['pull', 'origin']))
    const applied = c.xp(['apply', 'good'])
    expect(applied.code).not.toBe(0)
    expect(errorCode(applied)).toBe('XP_REMOTE_CORRUPT')
    expect(c.exists('model.bin')).toBe(false)
    expect(c.read('params.yaml')).toBe('lr: 0.1\n') // all or nothing: not half applied
    expect(c.git('status', '--porcelain')).toBe('')

    // the error's hint: delete the remote copy, push again from a clone that has it intact
    // (a plain push skips an object the remote has, whatever its bytes)
    expect(applied.stderr).toContain('delete the remote copy first')
    fs.rmSync(obj)
    ok(repo.xp(['push', 'origin']))
    expect(fs.readFileSync(obj, 'utf8')).toBe('weights 0.3')
    ok(c.xp(['apply', 'good']))
    expect(c.read('model.bin')).toBe('weights 0.3')
    ok(c.xp(['fsck']))
  }, 60_000)
})

describe('journey: notes written in two clones', () => {
  it('both notes survive push and pull both ways, and both clones show them', () => {
    const { repo, clone } = shared()
    ok(repo.xp(['run', '-n', 'base', '--', 'sh', '-c', 'printf m > model.bin']))
    ok(repo.xp(['push', 'origin']))
    const other = clone()
    ok(other.xp(['pull', 'origin']))
    ok(repo.xp(['note', 'base', 'looks good on val']))
    ok(other.xp(['note', 'base', 'fails on the holdout']))
    ok(repo.xp(['push', 'origin']))
    ok(other.xp(['push', 'origin'])) // notes conflict: merged, then pushed
    ok(repo.xp(['pull', 'origin']))
    const notesOf = (r: TestRepo) => String(r.json(['show'])[0].notes ?? '')
    for (const r of [repo, other]) {
      expect(notesOf(r)).toContain('looks good on val')
      expect(notesOf(r)).toContain('fails on the holdout')
    }
    expect(notesOf(repo)).toBe(notesOf(other))
  }, 60_000)
})
