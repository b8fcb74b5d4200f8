import { describe, it, expect } from 'vitest'
import {
  decode,
  object,
  optional,
  string,
  stringList,
  record,
  array,
  integer,
  number,
  boolean,
  literal,
  withDefault,
  oneOf,
  refine,
  nonEmptyString,
} from '../src/core/decode.js'
import { XpError } from '../src/core/errors.js'

function fails(f: () => unknown): XpError {
  try {
    f()
  } catch (e) {
    if (e instanceof XpError) return e
    throw e
  }
  throw new Error('did not fail')
}

const Remote = object({ url: nonEmptyString, endpoint: optional(string), region: optional(string) })
const Config = object({
  command: optional(string),
  params: optional(stringList),
  remotes: withDefault(record(Remote), {}),
  snapshot: withDefault(object({ max_file_size: optional(integer) }), {}),
})

describe('decoders', () => {
  it('decode a well-formed value into typed data, keeping unknown keys', () => {
    const cfg = decode(Config, { params: 'params.yaml', remotes: { s: { url: 's3://b/p', extra: 1 } }, future: true }, { file: 'xp.yaml' })
    expect(cfg.params).toEqual(['params.yaml'])
    expect(cfg.remotes.s.url).toBe('s3://b/p')
    expect(cfg.remotes.s.extra).toBe(1)
    expect(cfg.future).toBe(true)
    expect(cfg.snapshot).toEqual({})
  })

  it('name the file and the exact place of a mismatch, with a stable code', () => {
    const e = fails(() => decode(Config, { remotes: [1, 2] }, { file: 'xp.yaml' }))
    expect(e.code).toBe('XP_BAD_CONFIG')
    expect(e.message).toBe('xp.yaml: remotes: expected a mapping, got a list of 2')
    const deep = fails(() => decode(Config, { remotes: { s: { url: 1 } } }, { file: 'xp.yaml' }))
    expect(deep.message).toBe('xp.yaml: remotes.s.url: expected a non-empty string, got 1')
    const inList = fails(() => decode(Config, { params: ['a', 3] }, { file: 'xp.yaml' }))
    expect(inList.message).toBe('xp.yaml: params[1]: expected a string, got 3')
    const code = fails(() => decode(array(integer), ['x'], { file: 'task.json', code: 'XP_QUEUE_TASK_NOT_FOUND' }))
    expect(code.code).toBe('XP_QUEUE_TASK_NOT_FOUND')
  })

  it('treat null like a missing key, as a YAML key with no value is', () => {
    expect(decode(Config, { command: null, params: null }, { file: 'x' }).command).toBeUndefined()
  })

  it('refuse unknown keys only when strict', () => {
    const Strict = object({ a: number }, { strict: true })
    expect(fails(() => decode(Strict, { a: 1, b: 2 }, { file: 'f' })).message).toBe('f: b: expected no such key, got 2')
  })

  it('literal, boolean, oneOf and refine', () => {
    expect(decode(literal('copy', 'reflink'), 'copy', { file: 'f' })).toBe('copy')
    expect(fails(() => decode(literal('copy', 'reflink'), 'hard', { file: 'f' })).message).toContain('one of "copy", "reflink"')
    expect(fails(() => decode(boolean, 'yes', { file: 'f' })).message).toContain('true or false')
    const portOrName = oneOf(integer, string, 'a port or a name')
    expect(decode(portOrName, 8, { file: 'f' })).toBe(8)
    expect(fails(() => decode(portOrName, [], { file: 'f' })).message).toContain('a port or a name')
    const positive = refine(number, (n) => (n > 0 ? n : undefined), 'a positive number')
    expect(fails(() => decode(positive, -1, { file: 'f' })).message).toContain('a positive number')
  })
})

describe('xp.yaml and .xp/config.local.yaml are decoded, not cast', () => {
  it('a wrong shape is XP_BAD_CONFIG naming the key, never XP_INTERNAL', async () => {
    const { TestRepo, errorCode, cleanupTmp } = await import('./helpers.js')
    try {
      const repo = new TestRepo({ files: { 'xp.yaml': 'remotes: [1, 2]\n' } })
      const list = repo.xp(['remote', 'list'])
      expect(errorCode(list)).toBe('XP_BAD_CONFIG')
      expect(list.stderr).toContain('remotes')
      repo.write('xp.yaml', 'artifacts:\n  churn: {type: model}\n')
      expect(errorCode(repo.xp(['run', '--', 'true']))).toBe('XP_BAD_CONFIG')
      repo.write('xp.yaml', 'outs: [models/m.bin]\n')
      repo.write('.xp/config.local.yaml', 'cache: [oops]\n')
      expect(errorCode(repo.xp(['status']))).toBe('XP_BAD_CONFIG')
    } finally {
      cleanupTmp()
    }
  })

  it('a queue task file of the wrong shape is XP_BAD_TASK naming the file, not a crash deep in the worker', async () => {
    const { TestRepo, errorCode, cleanupTmp } = await import('./helpers.js')
    try {
      const repo = new TestRepo({ files: { 'params.yaml': 'lr: 1\n' } })
      expect(repo.xp(['run', '--queue', '-S', 'lr=2', '--', 'true']).code).toBe(0)
      const dir = repo.path('.xp', 'queue', 'tasks')
      const fs = await import('node:fs')
      const [file] = fs.readdirSync(dir)
      const task = JSON.parse(fs.readFileSync(`${dir}/${file}`, 'utf8'))
      fs.writeFileSync(`${dir}/${file}`, JSON.stringify({ ...task, edits: 'lr=2' }))
      const st = repo.xp(['queue', 'status'])
      expect(errorCode(st)).toBe('XP_BAD_TASK')
      expect(st.stderr).toContain(file)
      expect(st.stderr).toContain('edits')
    } finally {
      cleanupTmp()
    }
  })
})
