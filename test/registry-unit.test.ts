import { describe, it, expect } from 'vitest'
import { parseRegistryTag, RegistryTag, validateArtifactName, validateVersion, validateStage, nextCounter, isCreationTag } from '../src/core/registry/tag.js'
import { parseSemVer, compareSemVer, compareVersionText, bumpSemVer } from '../src/core/registry/semver.js'
import { foldRegistry, gtoShow, highestVersion, type TagEvent } from '../src/core/registry/fold.js'
import { parseModelSpec, resolveSpec } from '../src/core/registry/query.js'
import type { XpError } from '../src/core/errors.js'

const c1 = '1'.repeat(40)
const c2 = '2'.repeat(40)
const c3 = '3'.repeat(40)
const T0 = 1_700_000_000

/** An annotated tag event at T0 + t. */
const ev = (tag: string, t: number, commit: string, message = ''): TagEvent => ({
  tag,
  time: T0 + t,
  commit,
  tagger: 'Test User',
  email: 'test@example.com',
  message,
})
const show = (events: TagEvent[], opts = {}) => gtoShow(foldRegistry(events), opts)
const code = (f: () => unknown) => {
  try {
    f()
  } catch (e) {
    return (e as XpError).code
  }
  return undefined
}

describe('the test vectors of issue 5 (what gto show --json reports)', () => {
  it('1: a stage stays on v1.0.0 while latest moves to v1.1.0; an empty message is fine', () => {
    expect(show([ev('churn@v1.0.0', 10, c1, 'Registering'), ev('churn#production#1', 20, c1, ''), ev('churn@v1.1.0', 40, c2)])).toEqual({
      churn: { version: 'v1.1.0', stage: { production: 'v1.0.0' }, registered: true, active: true },
    })
  })

  it('2: lightweight tags are not events (read.ts never turns them into any): nothing to show', () => {
    expect(show([])).toEqual({})
  })

  it('3: a stage on an unregistered commit names the commit', () => {
    expect(show([ev('churn#prod#1', 10, c1)])).toEqual({ churn: { version: null, stage: { prod: c1 }, registered: true, active: true } })
  })

  it('4: a deregistered version leaves latest and stages; @deprecated hides the artifact', () => {
    const events = [ev('m@v1.0.0', 10, c1), ev('m#prod#1', 11, c1), ev('m@v1.1.0', 30, c2), ev('m@v1.1.0!', 40, c2)]
    expect(show(events)).toEqual({ m: { version: 'v1.0.0', stage: { prod: 'v1.0.0' }, registered: true, active: true } })
    const deprecated = [...events, ev('m@deprecated', 50, c1)]
    expect(show(deprecated)).toEqual({})
    expect(show(deprecated, { deprecated: true }).m.active).toBe(false)
  })

  it('5: dir= prefixes, slashes, underscores and capitals; other tags ignored', () => {
    const names = ['path/to=churn@v1.0.0', 'models/churn-2@v1.0.0', 'Churn_X#prod/eu', 'v1.0.0', 'release-1', 'm@1.0.0', 'm@V1.0.0']
    const out = show(names.map((n, i) => ev(n, i, c1)))
    expect(Object.keys(out).sort()).toEqual(['Churn_X', 'models/churn-2', 'path/to:churn'])
    expect(out.Churn_X.stage['prod/eu']).toBe(c1)
    expect(out['path/to:churn'].version).toBe('v1.0.0')
    for (const n of names.slice(3)) expect(parseRegistryTag(n)).toBeNull()
  })
})

describe('the grammar', () => {
  it('parses every kind', () => {
    expect(parseRegistryTag('churn@v1.2.3')).toEqual({ artifact: 'churn', kind: 'register', version: 'v1.2.3' })
    expect(parseRegistryTag('churn@v1.2.3!')).toEqual({ artifact: 'churn', kind: 'deregister', version: 'v1.2.3' })
    expect(parseRegistryTag('churn#production#12')).toEqual({ artifact: 'churn', kind: 'assign', stage: 'production', counter: 12 })
    expect(parseRegistryTag('churn#production!#13')).toEqual({ artifact: 'churn', kind: 'unassign', stage: 'production', counter: 13 })
    expect(parseRegistryTag('churn@deprecated')).toEqual({ artifact: 'churn', kind: 'deprecate' })
    expect(parseRegistryTag('churn@deprecated#7')).toEqual({ artifact: 'churn', kind: 'deprecate', counter: 7 })
    expect(parseRegistryTag('churn@v2.0.0-rc.1+build.5')).toMatchObject({ version: 'v2.0.0-rc.1+build.5' })
  })

  it('rejects what GTO rejects', () => {
    for (const n of [
      'churn@v1.0',
      'churn@v01.0.0',
      'churn@1.0.0',
      '-churn@v1.0.0',
      'churn-@v1.0.0',
      'churn#-prod#1',
      'churn@latest',
      'churn',
      'churn@v1.0.0!!',
      'ch urn@v1.0.0',
      'churn@deprecated!',
    ])
      expect(parseRegistryTag(n), n).toBeNull()
  })

  it('recognises NAME@created only to warn about it', () => {
    expect(parseRegistryTag('m@created')).toBeNull()
    expect(isCreationTag('m@created')).toBe(true)
    expect(isCreationTag('m@v1.0.0')).toBe(false)
  })

  it('formats tags through RegistryTag and round-trips them', () => {
    const tags = [
      RegistryTag.register('path/to:churn', 'v1.0.0'),
      RegistryTag.deregister('churn', 'v1.0.0'),
      RegistryTag.assign('churn', 'prod/eu', 3),
      RegistryTag.unassign('churn', 'prod', 4),
      RegistryTag.deprecate('churn'),
      RegistryTag.deprecate('churn').withCounter(9),
    ]
    expect(tags.map(String)).toEqual(['path/to=churn@v1.0.0', 'churn@v1.0.0!', 'churn#prod/eu#3', 'churn#prod!#4', 'churn@deprecated', 'churn@deprecated#9'])
    for (const t of tags) expect(RegistryTag.parse(t.name)?.name).toBe(t.name)
    expect(RegistryTag.register('churn', 'v1.0.0').ref).toBe('refs/tags/churn@v1.0.0')
  })

  it('validates artifact names with the grammar in the message', () => {
    expect(validateArtifactName('models/churn-2')).toBe('models/churn-2')
    expect(validateArtifactName('path/to=churn')).toBe('path/to:churn')
    expect(validateArtifactName('path/to:churn')).toBe('path/to:churn')
    for (const bad of ['', '-x', 'x-', 'a b', 'a@b', 'a#b', '../x:churn', 'a..b:churn', 'dir/:churn', 'x/'.repeat(120) + 'y']) {
      expect(
        code(() => validateArtifactName(bad)),
        bad,
      ).toBe('XP_BAD_ARTIFACT_NAME')
    }
    try {
      validateArtifactName('a b')
    } catch (e) {
      expect((e as XpError).message).toContain('[a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])?')
      expect((e as XpError).exitCode).toBe(2)
    }
  })

  it('validates versions and stages with the grammar in the message', () => {
    expect(validateVersion('v1.0.0-rc.1')).toBe('v1.0.0-rc.1')
    for (const bad of ['1.0.0', 'v1.0', 'v01.0.0', 'V1.0.0', 'v1.0.0-01', 'v1.0.0-', 'latest'])
      expect(
        code(() => validateVersion(bad)),
        bad,
      ).toBe('XP_BAD_VERSION')
    try {
      validateVersion('1.0.0')
    } catch (e) {
      expect((e as XpError).message).toContain('SemVer 2')
      expect((e as XpError).hint).toContain('v1.0.0')
    }
    expect(validateStage('prod/eu')).toBe('prod/eu')
    expect(code(() => validateStage('prod!'))).toBe('XP_BAD_STAGE')
  })

  it('counts counters across stages and kinds of one artifact only', () => {
    const names = ['churn#prod#1', 'churn#dev#4', 'churn#prod!#2', 'churn@v1.0.0', 'other#prod#9', 'churn@deprecated#3']
    expect(nextCounter(names, 'churn')).toBe(5)
    expect(nextCounter(names, 'other')).toBe(10)
    expect(nextCounter(names, 'new')).toBe(1)
  })
})

describe('semver', () => {
  const sorted = (xs: string[]) => [...xs].sort((a, b) => compareSemVer(parseSemVer(a)!, parseSemVer(b)!))

  it('orders pre-releases by SemVer 2 precedence', () => {
    const order = [
      'v1.0.0-alpha',
      'v1.0.0-alpha.1',
      'v1.0.0-alpha.beta',
      'v1.0.0-beta',
      'v1.0.0-beta.2',
      'v1.0.0-beta.11',
      'v1.0.0-rc.1',
      'v1.0.0',
      'v1.0.1',
      'v1.10.0',
      'v2.0.0',
    ]
    expect(sorted([...order].reverse())).toEqual(order)
  })

  it('compares big numbers exactly and ignores build metadata for precedence', () => {
    expect(compareSemVer(parseSemVer('v99999999999999999999.0.0')!, parseSemVer('v99999999999999999998.0.0')!)).toBeGreaterThan(0)
    expect(Math.sign(compareSemVer(parseSemVer('v1.0.0+a')!, parseSemVer('v1.0.0-rc.1')!))).toBe(1)
    expect(compareVersionText('v1.0.0', c1)).toBeGreaterThan(0)
  })

  it('bumps like python-semver (GTO)', () => {
    const v = parseSemVer('v1.4.2-rc.1+b')!
    expect([bumpSemVer(v, 'major'), bumpSemVer(v, 'minor'), bumpSemVer(v, 'patch')]).toEqual(['v2.0.0', 'v1.5.0', 'v1.4.3'])
    expect(bumpSemVer(parseSemVer('v9007199254740993.0.0')!, 'major')).toBe('v9007199254740994.0.0')
  })
})

describe('the fold', () => {
  it('latest is the highest active SemVer, pre-releases below their release', () => {
    const s = foldRegistry([ev('m@v1.0.0', 1, c1), ev('m@v1.1.0-rc.1', 2, c2), ev('m@v1.0.1', 3, c3)])
    expect(s.artifacts.get('m')!.latest!.version).toBe('v1.1.0-rc.1')
    const s2 = foldRegistry([ev('m@v1.1.0-rc.1', 1, c1), ev('m@v1.1.0', 2, c2)])
    expect(s2.artifacts.get('m')!.latest!.version).toBe('v1.1.0')
  })

  it('same-second ties: the cancelling event wins', () => {
    expect(show([ev('m@v1.0.0', 5, c1), ev('m@v1.1.0', 5, c2), ev('m@v1.1.0!', 5, c2)]).m.version).toBe('v1.0.0')
    // unassign and assign in one second: unassigned, whatever their counters
    expect(show([ev('m@v1.0.0', 1, c1), ev('m#prod#2', 5, c1), ev('m#prod!#1', 5, c1)]).m.stage).toEqual({})
  })

  it('same-second ties: registration beats deprecation', () => {
    expect(show([ev('m@v1.0.0', 5, c1), ev('m@deprecated', 5, c1)]).m.active).toBe(true)
    expect(show([ev('m@v1.0.0', 5, c1), ev('m@deprecated', 6, c1)])).toEqual({})
  })

  it('a stage shows the most recently assigned version, and falls back when it is unassigned (rollback)', () => {
    const base = [ev('m@v1.0.0', 1, c1), ev('m@v2.0.0', 2, c2), ev('m#prod#1', 10, c1), ev('m#prod#2', 20, c2)]
    const s = foldRegistry(base)
    expect(s.artifacts.get('m')!.stages.prod.map((h) => h.version)).toEqual(['v2.0.0', 'v1.0.0'])
    expect(show([...base, ev('m#prod!#3', 30, c2)]).m.stage.prod).toBe('v1.0.0')
    expect(show([...base, ev('m#prod#3', 30, c1)]).m.stage.prod).toBe('v1.0.0') // re-assigning v1 rolls back
    // two assignments in one second: the higher counter is the later one
    expect(show([ev('m@v1.0.0', 1, c1), ev('m@v2.0.0', 2, c2), ev('m#prod#4', 10, c1), ev('m#prod#3', 10, c2)]).m.stage.prod).toBe('v1.0.0')
  })

  it('every stage used in the registry is a key of every artifact, null where it holds nothing', () => {
    const out = show([ev('a@v1.0.0', 1, c1), ev('a#prod#1', 2, c1), ev('b@v1.0.0', 3, c2), ev('b#dev#1', 4, c2)])
    expect(out.a.stage).toEqual({ dev: null, prod: 'v1.0.0' })
    expect(out.b.stage).toEqual({ dev: 'v1.0.0', prod: null })
  })

  it('counters across stages do not decide the order: time does', () => {
    const s = foldRegistry([ev('m@v1.0.0', 1, c1), ev('m#dev#1', 2, c1), ev('m#prod#2', 3, c1), ev('m#dev!#3', 4, c1)])
    const a = s.artifacts.get('m')!
    expect(Object.keys(a.stages)).toEqual(['prod'])
    expect(a.versions[0].stages).toEqual(['prod'])
  })

  it('a registration after @deprecated revives the artifact', () => {
    const events = [ev('m@v1.0.0', 1, c1), ev('m@deprecated', 2, c1), ev('m@v1.0.1', 3, c2)]
    expect(show(events)).toEqual({ m: { version: 'v1.0.1', stage: {}, registered: true, active: true } })
  })

  it('a stage tag binds to the version registered at its commit, even when registered later', () => {
    expect(show([ev('m#prod#1', 1, c1), ev('m@v1.0.0', 2, c1)]).m.stage.prod).toBe('v1.0.0')
  })

  it('a deregistered version leaves every stage', () => {
    expect(show([ev('m@v1.0.0', 1, c1), ev('m#prod#1', 2, c1), ev('m@v1.0.0!', 3, c1)])).toEqual({
      m: { version: null, stage: {}, registered: true, active: true },
    })
  })

  it('ignores NAME@created with a warning', () => {
    const s = foldRegistry([ev('m@created', 1, c1), ev('m@v1.0.0', 2, c1)])
    expect(s.warnings).toHaveLength(1)
    expect(s.warnings[0]).toContain('m@created')
    expect(gtoShow(s).m.version).toBe('v1.0.0')
    expect(foldRegistry([ev('x@created', 1, c1)]).artifacts.size).toBe(0)
  })

  it("two versions of one artifact on one commit with a stage tag there: a problem naming both and GTO's rule, the rest still readable", () => {
    // GTO: find_version(commit) raises ManyVersions for the stage tag, so `gto show` fails
    const s = foldRegistry([ev('m@v1.0.0', 1, c1), ev('m@v1.1.0', 2, c1), ev('m#prod#1', 3, c1), ev('ok@v1.0.0', 4, c2), ev('ok#prod#1', 5, c2)])
    expect(s.problems).toHaveLength(1)
    expect(s.problems[0]).toContain('v1.0.0, v1.1.0')
    expect(s.problems[0]).toContain('Multiple versions are not allowed on the same Git commit')
    const out = gtoShow(s)
    expect(out.ok).toEqual({ version: 'v1.0.0', stage: { prod: 'v1.0.0' }, registered: true, active: true })
    expect(out.m.version).toBe('v1.1.0')
    expect(out.m.stage.prod).toBeNull()
  })

  it('a deregistered version replaced on the same commit: fine without stage tags, a problem with one (GTO fails)', () => {
    const base = [ev('m@v1.0.0', 1, c1), ev('m@v1.0.0!', 2, c1), ev('m@v1.0.1', 3, c1)]
    expect(foldRegistry(base).problems).toEqual([])
    expect(show(base).m.version).toBe('v1.0.1')
    const s = foldRegistry([...base, ev('m#prod#1', 4, c1)])
    expect(s.problems).toHaveLength(1)
    expect(s.problems[0]).toContain('Multiple versions are not allowed on the same Git commit')
    expect(gtoShow(s).m.stage).toEqual({}) // xp ignores the stage tag there rather than guess
  })

  it('the next bump starts from the highest version ever registered', () => {
    const s = foldRegistry([ev('m@v1.0.0', 1, c1), ev('m@v1.2.0', 2, c2), ev('m@v1.2.0!', 3, c2)])
    expect(highestVersion(s.artifacts.get('m'))).toBe('v1.2.0')
    expect(highestVersion(undefined)).toBeNull()
  })
})

describe('model specs', () => {
  const s = foldRegistry([
    ev('churn@v1.0.0', 1, c1),
    ev('churn#production#1', 2, c1),
    ev('churn@v1.1.0', 3, c2),
    ev('churn@v0.9.0', 4, c3),
    ev('churn@v0.9.0!', 5, c3),
  ])

  it('resolves versions, latest and stages, in @ and # forms', () => {
    expect(resolveSpec(s, parseModelSpec('churn@v1.0.0')).version.commit).toBe(c1)
    expect(resolveSpec(s, parseModelSpec('churn@latest')).version.version).toBe('v1.1.0')
    expect(resolveSpec(s, parseModelSpec('churn')).version.version).toBe('v1.1.0')
    expect(resolveSpec(s, parseModelSpec('churn@production')).version.version).toBe('v1.0.0')
    expect(resolveSpec(s, parseModelSpec('churn#production')).stage).toBe('production')
  })

  it('misses with stable codes', () => {
    expect(code(() => resolveSpec(s, parseModelSpec('nope@latest')))).toBe('XP_ARTIFACT_NOT_FOUND')
    expect(code(() => resolveSpec(s, parseModelSpec('churn@v9.9.9')))).toBe('XP_VERSION_NOT_FOUND')
    expect(code(() => resolveSpec(s, parseModelSpec('churn@v0.9.0')))).toBe('XP_VERSION_NOT_FOUND')
    expect(code(() => resolveSpec(s, parseModelSpec('churn@staging')))).toBe('XP_STAGE_EMPTY')
    expect(code(() => parseModelSpec('churn@v1.0'))).toBe('XP_BAD_VERSION')
    expect(code(() => parseModelSpec('bad name@latest'))).toBe('XP_BAD_ARTIFACT_NAME')
  })
})

describe('tag objects', () => {
  it('reads the commit and tagger time from a tag header', async () => {
    const { parseTagHeader } = await import('../src/core/registry/read.js')
    expect(parseTagHeader(`object ${c1}\ntype commit\ntag m@v1.0.0\ntagger A B <a@x> 1700000010 +0100\n\nmsg\n`)).toEqual([1700000010, c1, '+0100', 'm@v1.0.0'])
    expect(parseTagHeader(`object ${c1}\ntype tree\ntag m@v1.0.0\ntagger A <a@x> 1 +0000\n\nmsg`)).toBe(0)
    expect(parseTagHeader(`object ${c1}\ntype commit\ntag old\n\nno tagger`)).toEqual([0, c1, '+0000', 'old'])
  })
})

describe('tag details', () => {
  it('reads tagger, email and message, without a signature', async () => {
    const { parseTagDetails } = await import('../src/core/registry/read.js')
    const sig = '-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----\n'
    expect(parseTagDetails(`object ${c1}\ntype commit\ntag m@v1.0.0\ntagger Ada L <ada@x> 1700000010 +0000\n\nhello\nworld\n${sig}`)).toEqual({
      tagger: 'Ada L',
      email: 'ada@x',
      message: 'hello\nworld',
    })
    expect(parseTagDetails(`object ${c1}\ntype commit\ntag m@v1.0.0\ntagger Ada <ada@x> 1700000010 +0000\n\n`)).toEqual({
      tagger: 'Ada',
      email: 'ada@x',
      message: '',
    })
  })
})

/**
 * Vectors rebuilt from GTO 1.8.0's tests (tests/test_api.py, tests/test_cli.py,
 * tests/conftest.py's showcase, tests/resources) and from its code (gto/base.py, gto/tag.py,
 * gto/registry.py, gto/api.py), each with what GTO answers and why.
 */
describe("GTO 1.8's answers", () => {
  const a = (events: TagEvent[], name = 'm') => foldRegistry(events).artifacts.get(name)!

  it("conftest's showcase: production rolled back to v1.2.3 by a later assignment, staging on v1.2.4", () => {
    // rf@v1.2.3, nn@v0.0.1 at t0; sleep(1); rf@v1.2.4, nn#staging#1, rf#production#1 at t1;
    // rf#staging#2 at t2; rf#production#3 (v1.2.4) at t3; rf#production#4 (v1.2.3, --force) at t4
    const events = [
      ev('rf@v1.2.3', 0, c1),
      ev('nn@v0.0.1', 0, c1),
      ev('rf@v1.2.4', 1, c2),
      ev('nn#staging#1', 1, c1),
      ev('rf#production#1', 1, c1),
      ev('rf#staging#2', 2, c2),
      ev('rf#production#3', 3, c2),
      ev('rf#production#4', 4, c1),
    ]
    // test_cli: `gto show rf@greatest --version` is v1.2.4, `rf#production --version` v1.2.3, and
    // `rf#production --vs -1` lists both (v1.2.4 and v1.2.3, in SemVer order)
    expect(show(events)).toEqual({
      nn: { version: 'v0.0.1', stage: { production: null, staging: 'v0.0.1' }, registered: true, active: true },
      rf: { version: 'v1.2.4', stage: { production: 'v1.2.3', staging: 'v1.2.4' }, registered: true, active: true },
    })
    const rf = a(events, 'rf')
    expect(rf.stages.production.map((h) => h.version)).toEqual(['v1.2.3', 'v1.2.4'])
    expect(rf.latest!.tag).toBe('rf@v1.2.4') // `gto show rf@latest --ref`
  })

  it('issue 13.1: two assignments of one stage in one second: the version created first wins, whatever the counters', () => {
    // Artifact.get_vstages(sort=Timestamp): versions sorted by creation then reversed, their
    // assignments sorted by time then reversed: a tie keeps the earlier-created version first
    const base = [ev('m@v0.0.1', 1, c1), ev('m@v0.0.2', 2, c2)]
    expect(show([...base, ev('m#prod#3', 10, c1), ev('m#prod#4', 10, c2)]).m.stage.prod).toBe('v0.0.1')
    expect(show([...base, ev('m#prod#3', 10, c2), ev('m#prod#4', 10, c1)]).m.stage.prod).toBe('v0.0.1')
    // registered in one second too: created in ref-name order (git lists tags sorted), v0.0.1 first
    expect(show([ev('m@v0.0.2', 1, c2), ev('m@v0.0.1', 1, c1), ev('m#prod#3', 10, c2), ev('m#prod#4', 10, c1)]).m.stage.prod).toBe('v0.0.1')
    // one second later, the later assignment wins as usual
    expect(show([...base, ev('m#prod#3', 10, c1), ev('m#prod#4', 11, c2)]).m.stage.prod).toBe('v0.0.2')
  })

  it('issue 13.2: build metadata has no precedence; among equals, the one registered last is latest', () => {
    // sort_versions: sorted(key=SemVer) (python-semver ignores build metadata) then reversed
    expect(show([ev('m@v1.0.0+build.2', 1, c1), ev('m@v1.0.0+build.10', 2, c2), ev('m@v1.0.0+b', 3, c3)]).m.version).toBe('v1.0.0+b')
    expect(show([ev('m@v1.0.0+b', 1, c1), ev('m@v1.0.0+build.10', 2, c2), ev('m@v1.0.0+build.2', 3, c3)]).m.version).toBe('v1.0.0+build.2')
    // in one second, in ref-name order: +b, +build.10, +build.2 (the last)
    expect(show([ev('m@v1.0.0+build.2', 1, c1), ev('m@v1.0.0+build.10', 1, c2), ev('m@v1.0.0+b', 1, c3)]).m.version).toBe('v1.0.0+build.2')
    // precedence still counts: v1.0.1+a is above every v1.0.0+…
    expect(show([ev('m@v1.0.1+a', 1, c1), ev('m@v1.0.0+z', 2, c2)]).m.version).toBe('v1.0.1+a')
    expect(compareSemVer(parseSemVer('v1.0.0+build.2')!, parseSemVer('v1.0.0+build.10')!)).toBe(0)
  })

  it('issue 13.4: a version is a name on a commit: v1.0.0 deregistered on c1 and registered again on c2 is active', () => {
    // Artifact.find_version(name, commit_hexsha, create_new=True) keys versions by both
    const m = a([ev('m@v1.0.0', 1, c1), ev('m@v1.0.0!', 2, c1), ev('m@v1.0.0#1', 3, c2), ev('m#prod#2', 4, c2)])
    expect(m.latest).toMatchObject({ version: 'v1.0.0', commit: c2, tag: 'm@v1.0.0#1' })
    expect(m.versions.map((v) => [v.version, v.commit, v.active])).toEqual([
      ['v1.0.0', c2, true],
      ['v1.0.0', c1, false],
    ])
    expect(m.stages.prod[0]).toMatchObject({ version: 'v1.0.0', commit: c2 })
    expect(resolveSpec(foldRegistry([ev('m@v1.0.0', 1, c1), ev('m@v1.0.0!', 2, c1), ev('m@v1.0.0#1', 3, c2)]), parseModelSpec('m@v1.0.0')).version.commit).toBe(
      c2,
    )
  })

  it("issue 13.5: history in one second follows GTO's order (lowest counter first, newest first)", () => {
    // `gto history`: events sorted by (time, priority), stably over the artifact's events,
    // then reversed. Registration and two assignments of one command, all in one second:
    const m = a([ev('m@v0.0.1', 1, c1), ev('m@v0.0.2', 5, c2), ev('m#production#2', 5, c2), ev('m#staging#1', 5, c2)])
    expect([...m.events].reverse().map((e) => e.tag)).toEqual(['m#staging#1', 'm#production#2', 'm@v0.0.2', 'm@v0.0.1'])
    // two versions assigned to one stage in one second: the lower counter is listed first
    const n = a([ev('m@v1.0.0', 1, c1), ev('m@v2.0.0', 2, c2), ev('m#prod#3', 10, c1), ev('m#prod#4', 10, c2)])
    expect([...n.events].reverse().map((e) => e.tag)).toEqual(['m#prod#3', 'm#prod#4', 'm@v2.0.0', 'm@v1.0.0'])
    // a deregistration and an unassignment after what they cancel, within their second (priority)
    const d = a([ev('m@v1.0.0', 1, c1), ev('m#prod!#2', 1, c1), ev('m#prod#1', 1, c1), ev('m@v1.0.0!', 1, c1)])
    expect(d.events.map((e) => e.kind)).toEqual(['register', 'deregister', 'assign', 'unassign'])
  })

  it('issue 13.8: GTO puts @deprecated on the commit of the newest event, not of the latest version', () => {
    // GitRegistry.deprecate: rev = find_artifact(name).get_events()[0].commit_hexsha
    expect(a([ev('m@v1.0.0', 1, c1), ev('m@v2.0.0', 2, c2), ev('m#prod#1', 3, c1)]).newestCommit).toBe(c1)
    expect(a([ev('m@v1.0.0', 1, c1), ev('m#prod#1', 2, c1), ev('m@v2.0.0', 3, c2)]).newestCommit).toBe(c2)
  })

  it('ties of one second: a deprecation loses to any event; unassignment and deregistration win', () => {
    // Artifact.is_active: get_events()[0] (newest; deprecations sort first, so lose ties)
    expect(show([ev('m@v1.0.0', 5, c1), ev('m#prod#1', 6, c1), ev('m@deprecated', 6, c1)]).m.active).toBe(true)
    // VStage.is_active / Version.is_active: assignments + unassignments sorted, reversed
    expect(show([ev('m@v1.0.0', 1, c1), ev('m#prod!#1', 5, c1), ev('m#prod#2', 5, c1)]).m.stage).toEqual({})
    expect(show([ev('m@v1.0.0', 5, c1), ev('m@v1.0.0!#2', 5, c1), ev('m@v1.0.0#1', 5, c1)]).m.version).toBeNull()
  })

  it("test_api's register/deregister and unassign: latest falls back, the stage empties", () => {
    const reg = [ev('model@v1.0.0', 1, c1), ev('model@v1.0.1', 2, c2)]
    expect(show(reg).model.version).toBe('v1.0.1')
    expect(show([...reg, ev('model@v1.0.1!', 3, c2)]).model.version).toBe('v1.0.0')
    const un = [ev('model@v0.0.1', 1, c1), ev('model#dev#1', 2, c1)]
    expect(show(un).model.stage.dev).toBe('v0.0.1')
    expect(show([...un, ev('model#dev!#2', 3, c1)]).model.stage).toEqual({})
  })

  it("test_api's assign_skip_registration: a stage on an unregistered commit shows the commit's hash, never as latest", () => {
    expect(show([ev('m#staging#1', 1, c1)]).m).toEqual({ version: null, stage: { staging: c1 }, registered: true, active: true })
  })

  it('an unassignment on an unregistered commit cancels nothing (GTO makes a hash-named version per stage tag)', () => {
    // index_tag: find_version(commit_hexsha, create_new=True) skips versions without a
    // registration event, so each stage tag there gets its own version
    const m = a([ev('m#prod#1', 1, c1), ev('m#prod!#2', 2, c1)])
    expect(gtoShow(foldRegistry([ev('m#prod#1', 1, c1), ev('m#prod!#2', 2, c1)])).m.stage.prod).toBe(c1)
    expect(m.versions.map((v) => [v.version, v.stages])).toEqual([[c1, ['prod']]]) // listed once
    // a registration at that commit binds every stage tag there to it: then it cancels
    expect(show([ev('m#prod#1', 1, c1), ev('m#prod!#2', 2, c1), ev('m@v1.0.0', 3, c1)]).m.stage).toEqual({})
  })

  it('isoTime writes Python isoformat() in the tagger offset', async () => {
    const { isoTime } = await import('../src/core/registry/describe.js')
    expect(isoTime(1700000200, '+0000')).toBe('2023-11-14T22:16:40+00:00')
    expect(isoTime(1653608992, '+0300')).toBe('2022-05-27T02:49:52+03:00') // tests/resources: churn#prod#2
    expect(isoTime(1661489863, '+0545')).toBe('2022-08-26T10:42:43+05:45')
    expect(isoTime(1700000200, '-0530')).toBe('2023-11-14T16:46:40-05:30')
  })
})

describe("GTO 1.8's tests/test_tag.py: which names are registry tags", () => {
  it('refuses what test_parse_wrong_names lists and reads what test_parse_correct_names lists', () => {
    const wrong = [
      '',
      '###',
      '@@@',
      'model@v1',
      'nn#prod#-1',
      'model@v111',
      'model-prod',
      'model@0.0.1',
      'model-prod-v1',
      'model#prod#-1',
      'model#prod#1-2',
      'model#prod?#1-2',
      'model#prod@v1.2.3',
      'model@v1.2.3#prod',
      'model-prod-v1-stage',
      'model@prod@v1@stage-1',
      'namespace/model@0.0.1',
      '@namespace/model@0.0.1',
      'model#prod#v1#stage#1-',
      'model#prod-v1-stage@1-2',
      'model#prod-v1-stage@1-2#@',
    ]
    for (const n of wrong) expect(parseRegistryTag(n), n).toBeNull()
    const right = [
      'nn#prod',
      'nn#prod!',
      'nn#prod#1',
      'nn@v1.0.0',
      'nn#prod!#2',
      'nn@v1.0.0!',
      'nn@v1.0.0#1',
      'nn@v1.0.0!#1',
      'nn@v1.0.0-rc.2',
      'nn@v1.0.0-alpha',
      'nn@v1.0.0-alpha.1',
      'nn@v1.0.0-alpha.beta',
      'new-artifact@v1.0.1!',
    ]
    for (const n of right) expect(parseRegistryTag(n), n).not.toBeNull()
    // test_parse_name: path@v1.2.3#5 is a registration with counter 5
    expect(parseRegistryTag('path@v1.2.3#5')).toEqual({ artifact: 'path', kind: 'register', version: 'v1.2.3', counter: 5 })
    expect(parseRegistryTag('path#stage!#2')).toEqual({ artifact: 'path', kind: 'unassign', stage: 'stage', counter: 2 })
  })
})
