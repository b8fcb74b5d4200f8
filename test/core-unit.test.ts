import { describe, it, expect } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { flatten, typeValue, expandValues, parseSetArg, parseStructured, MAX_VALUE_BYTES } from '../src/core/params.js'
import { encodeRecord, decodeRecord, type RunRecord } from '../src/core/runs/record.js'
import { newRunId, isRunId, RunRef, validateRunName, generateName } from '../src/core/runs/ref.js'
import { resolveRun, findRun } from '../src/core/runs/resolve.js'
import { commandSpec, shellQuote } from '../src/core/runs/command.js'
import { recordedVars } from '../src/core/runs/env.js'
import { Scrubber, secretValues } from '../src/core/safety/secrets.js'
import type { XpError } from '../src/core/errors.js'

const code = (f: () => unknown) => {
  try {
    f()
  } catch (e) {
    return (e as XpError).code
  }
  return 'no error'
}

describe('flatten', () => {
  it('joins nested keys with dots and keeps types', () => {
    expect(flatten({ lr: 0.1, model: { depth: 5, name: 'rf', deep: { on: true } }, none: null })).toEqual({
      lr: 0.1,
      'model.depth': 5,
      'model.name': 'rf',
      'model.deep.on': true,
      none: null,
    })
  })
  it('indexes lists', () => {
    expect(flatten({ layers: [64, 32] })).toEqual({ 'layers.0': 64, 'layers.1': 32 })
  })
  it('refuses a value over the limit, naming the key', () => {
    expect(code(() => flatten({ blob: 'x'.repeat(MAX_VALUE_BYTES + 1) }, '', {}, 'params.yaml'))).toBe('XP_VALUE_TOO_LARGE')
  })
})

describe('typeValue', () => {
  it('types -S values as a YAML author would', () => {
    expect(typeValue('1e-3')).toBe(0.001)
    expect(typeValue('42')).toBe(42)
    expect(typeValue('-0.5')).toBe(-0.5)
    expect(typeValue('true')).toBe(true)
    expect(typeValue('False')).toBe(false)
    expect(typeValue('null')).toBe(null)
    expect(typeValue('rf')).toBe('rf')
    expect(typeValue('"0.1"')).toBe('0.1')
    expect(typeValue('[1, 2]')).toEqual([1, 2])
    expect(typeValue('1.2.3')).toBe('1.2.3')
    expect(typeValue('e5')).toBe('e5')
  })
})

describe('expandValues and parseSetArg', () => {
  it('splits grids, protecting quoted commas', () => {
    expect(expandValues('0.1,0.01')).toEqual([0.1, 0.01])
    expect(expandValues(`"a,b",c`)).toEqual(['a,b', 'c'])
    expect(expandValues('[1,2],[3]')).toEqual([[1, 2], [3]])
  })
  it('expands range()', () => {
    expect(expandValues('range(1, 4)')).toEqual([1, 2, 3])
    expect(expandValues('range(0, 0.3, 0.1)')).toEqual([0, 0.1, 0.2])
    expect(expandValues('range(3, 0, -1)')).toEqual([3, 2, 1])
    expect(code(() => expandValues('range(1, 2, 0)'))).toBe('XP_BAD_SET')
  })
  it('reads FILE:KEY=VALUE', () => {
    expect(parseSetArg('lr=0.1', 'params.yaml')).toMatchObject({ file: 'params.yaml', key: 'lr', values: [0.1] })
    expect(parseSetArg('conf/train.yaml:model.depth=5', 'params.yaml')).toMatchObject({ file: 'conf/train.yaml', key: 'model.depth', values: [5] })
    expect(parseSetArg('name=a=b', 'p.yaml').values).toEqual(['a=b'])
    expect(code(() => parseSetArg('novalue', 'p.yaml'))).toBe('XP_BAD_SET')
    expect(code(() => parseSetArg('a..b=1', 'p.yaml'))).toBe('XP_BAD_SET')
  })
})

describe('parseStructured', () => {
  it('names the file and line of a YAML error', () => {
    try {
      parseStructured('a: 1\nb: [1, 2\nc: 3\n', 'params.yaml')
      expect.unreachable()
    } catch (e) {
      expect((e as XpError).code).toBe('XP_BAD_FILE')
      expect((e as XpError).message).toMatch(/^params\.yaml:\d+: invalid YAML/)
    }
  })
  it('names the line of a JSON error', () => {
    try {
      parseStructured('{\n"a": 1,\n"b": }\n', 'metrics.json')
      expect.unreachable()
    } catch (e) {
      expect((e as XpError).message).toMatch(/^metrics\.json:3: invalid JSON/)
    }
  })
  it('stops a billion-laughs document', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for (let i = 0; i < 9; i++)
      lines.push(
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9)
          .fill('*' + String.fromCharCode(97 + i))
          .join(',')}]`,
      )
    expect(code(() => parseStructured(lines.join('\n'), 'bomb.yaml'))).toBe('XP_BAD_FILE')
  })
})

const record: RunRecord = {
  xp: 1,
  id: '01m84nzq28kegevcrwe9',
  name: 'brisk-otter',
  status: 'succeeded',
  exit_code: 0,
  command: 'python train.py --msg "a\nb"',
  started: '2026-11-23T15:30:00.123Z',
  ended: '2026-11-23T15:30:12.456Z',
  duration_s: 12.333,
  baseline: 'a'.repeat(40),
  branch: 'main',
  params: { lr: 0.1, 'model.depth': 5, name: 'x: y' },
  metrics: { acc: 0.93 },
  series: ['logs/train.tsv'],
  deps: {},
  outs: { 'm.bin': { oid: 'f'.repeat(32), size: 4 } },
  env: { host: 'h', vars: {} },
}

describe('run record', () => {
  it('round-trips through the commit message', () => {
    const msg = encodeRecord(record)
    expect(msg.split('\n')[0]).toBe('xp: brisk-otter succeeded: python train.py --msg "a b"')
    expect(decodeRecord(msg)).toEqual(record)
  })
  it('is YAML that any parser reads, one key per line, xp first', () => {
    const body = encodeRecord(record).split('\n\n')[1]
    expect(body.split('\n')[0]).toBe('xp: 1')
    expect(parseYaml(body)).toEqual(record)
  })
  it('ignores messages that are not records', () => {
    expect(decodeRecord('fix typo\n\nnothing here')).toBeNull()
  })
  it("keeps the run's project after its branch: '' for the root project, absent in an older record, a wrong shape dropped as damage", () => {
    const inA = encodeRecord({ ...record, project: 'a/b' })
    expect(inA.split('\n')).toContain('project: "a/b"')
    expect(inA.indexOf('branch: ')).toBeLessThan(inA.indexOf('project: '))
    expect(decodeRecord(inA)?.project).toBe('a/b')
    expect(decodeRecord(encodeRecord({ ...record, project: '' }))?.project).toBe('')
    expect(decodeRecord(encodeRecord(record))).not.toHaveProperty('project')
    const bad = decodeRecord(encodeRecord(record).replace('branch: "main"', 'branch: "main"\nproject: 3'))
    expect(bad).not.toHaveProperty('project')
    expect(bad?.damaged).toEqual(['project'])
  })
})

describe('run ids and names', () => {
  it('are unique, lowercase, ref-safe and sort by time', () => {
    const a = newRunId(new Date('2026-01-01T00:00:00Z'))
    const b = newRunId(new Date('2026-01-01T00:00:00.001Z'))
    const c = newRunId(new Date('2026-01-01T00:00:00.001Z'))
    expect(isRunId(a) && isRunId(b)).toBe(true)
    expect(a < b).toBe(true)
    expect(b).not.toBe(c)
    expect(a).toMatch(/^[0-9a-z]{20}$/)
    expect(RunRef.fromId(a).toString()).toBe(`refs/xp/runs/${a}`)
    expect(RunRef.parse(`refs/xp/runs/${a}`)?.id).toBe(a)
    expect(RunRef.parse('refs/heads/main')).toBeNull()
  })
  it('validates names as one ref component', () => {
    expect(validateRunName('lr-0.01_v2')).toBe('lr-0.01_v2')
    for (const bad of ['a/b', 'has space', '-x', 'a..b', 'x.lock', '', 'a:b', 'end.']) expect(code(() => validateRunName(bad))).toBe('XP_BAD_RUN_NAME')
    expect(generateName()).toMatch(/^[a-z]+-[a-z]+$/)
  })
})

describe('resolveRun', () => {
  const runs = [
    { id: '01m84nzq28kegevcrwe9', name: 'alpha' },
    { id: '01m84nzq28zzzzzzzzzz', name: 'beta' },
    { id: '01m90000000000000000', name: 'gamma' },
  ]
  it('takes an id, a name, a unique prefix or a full ref', () => {
    expect(resolveRun(runs, '01m84nzq28kegevcrwe9').name).toBe('alpha')
    expect(resolveRun(runs, 'beta').name).toBe('beta')
    expect(resolveRun(runs, '01m9').name).toBe('gamma')
    expect(resolveRun(runs, 'refs/xp/runs/01m90000000000000000').name).toBe('gamma')
  })
  it('lists the candidates of an ambiguous prefix', () => {
    try {
      resolveRun(runs, '01m84nzq28')
      expect.unreachable()
    } catch (e) {
      expect((e as XpError).code).toBe('XP_RUN_AMBIGUOUS')
      expect((e as XpError).message).toContain('alpha')
      expect((e as XpError).message).toContain('beta')
    }
  })
  it('needs 4 characters for a prefix', () => {
    expect(findRun(runs, '01m')).toBeNull()
    expect(code(() => resolveRun(runs, 'nope'))).toBe('XP_RUN_NOT_FOUND')
  })
})

describe('commands and environment', () => {
  it('runs an argument vector without a shell and a single line through sh', () => {
    expect(commandSpec(['python', 'train.py', 'a b'], undefined)).toEqual({ file: 'python', args: ['train.py', 'a b'], display: "python train.py 'a b'" })
    expect(commandSpec(['true'], undefined)?.file).toBe('true')
    expect(commandSpec(['echo hi && echo there'], undefined)).toEqual({
      file: '/bin/sh',
      args: ['-c', 'echo hi && echo there'],
      display: 'echo hi && echo there',
    })
    expect(commandSpec([], 'node train.js')?.file).toBe('/bin/sh')
    expect(commandSpec([], undefined)).toBeNull()
    expect(shellQuote("it's")).toBe(`'it'\\''s'`)
  })
  it('records only allow-listed variables and masks secret names', () => {
    const env = { CUDA_VISIBLE_DEVICES: '0', HOME: '/root', WANDB_API_KEY: 'abcdefgh', WANDB_MODE: 'offline' }
    expect(recordedVars(env)).toEqual({ CUDA_VISIBLE_DEVICES: '0' })
    expect(recordedVars({ ...env, XP_ENV_VARS: 'WANDB_*' })).toEqual({ WANDB_API_KEY: '***', WANDB_MODE: 'offline' })
    expect(new Scrubber(secretValues(env)).text('key=abcdefgh!')).toBe('key=***!')
  })
})

describe('a run name read from the record index without parsing the record', () => {
  it('gives what JSON.parse gives, over random records whose params, metrics and env hold "name" keys and awkward strings', async () => {
    const { recordNameOf } = await import('../src/core/runs/record-index.js')
    const { sortKeys, stringifyJson } = await import('../src/core/json.js')
    let seed = 12345
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed % n
    }
    const nasty = ['name', '"name":"x"', '{', '}', '[', ']', '\\', '"', 'é', '😀', ':', ',', 'na"me', '\n']
    const str = () => Array.from({ length: rnd(5) }, () => nasty[rnd(nasty.length)]).join('') + rnd(100)
    const flat = () => Object.fromEntries(Array.from({ length: rnd(4) }, () => [rnd(3) ? str() : 'name', rnd(2) ? str() : rnd(1000) / 7]))
    for (let k = 0; k < 500; k++) {
      const rec: Record<string, unknown> = {
        id: str(),
        metrics: flat(),
        params: flat(),
        env: { host: str(), vars: flat(), name: str() },
        deps: { [str()]: { oid: str(), size: rnd(9) } },
        tags: rnd(2) ? flat() : undefined,
        series: [str(), '{"name":"no"}'],
      }
      if (rnd(6)) rec.name = str()
      else if (rnd(2)) rec.name = rnd(50) // not a string: no name
      const text = stringifyJson(sortKeys(rec))
      const parsed = (JSON.parse(text) as { name?: unknown }).name
      expect(recordNameOf(Buffer.from(text)), text).toBe(typeof parsed === 'string' ? parsed : undefined)
    }
  })
})
