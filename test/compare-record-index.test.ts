import { describe, it, expect, afterAll } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { loadIndex, saveIndex, addToIndex, indexFile, NOT_A_RECORD } from '../src/core/runs/record-index.js'
import { tmpDir, cleanupTmp } from './helpers.js'

afterAll(cleanupTmp)

const key = (i: number) => `${i.toString(16).padStart(40, '0')} refs/xp/runs/01m8${String(i).padStart(16, '0')}`
const json = (i: number) => Buffer.from(`{"id":"${i}"}`)
const texts = (m: Map<string, Buffer>) => [...m].map(([k, v]) => [k, v.toString()])

describe('the record index file', () => {
  it('round-trips entries and starts empty when missing', () => {
    const dir = tmpDir()
    expect(loadIndex(dir).entries.size).toBe(0)
    saveIndex(
      loadIndex(dir),
      [
        [key(1), json(1)],
        [key(2), NOT_A_RECORD],
      ],
      new Set([key(1), key(2)]),
    )
    const idx = loadIndex(dir)
    expect(texts(idx.entries)).toEqual([
      [key(1), '{"id":"1"}'],
      [key(2), 'null'],
    ])
    expect(idx.torn).toBe(false)
    expect(indexFile(dir)).toBe(path.join(dir, 'xp', 'runs-v1.idx'))
  })

  it('ignores foreign and torn lines, and appends after a torn line on a new line', () => {
    const dir = tmpDir()
    fs.mkdirSync(path.join(dir, 'xp'))
    fs.writeFileSync(indexFile(dir), `garbage\n${key(1)}\tnot json\n${key(2)}\t${json(2)}\n${key(3)}\t{"id":`)
    const idx = loadIndex(dir)
    expect([...idx.entries.keys()]).toEqual([key(2)])
    expect(idx.torn).toBe(true)
    saveIndex(idx, [[key(3), json(3)]], new Set([key(2), key(3)]))
    expect(texts(loadIndex(dir).entries)).toEqual([
      [key(2), '{"id":"2"}'],
      [key(3), '{"id":"3"}'],
    ])
  })

  it("a run's own append (addToIndex) starts a new line after a torn one, into a missing file too", () => {
    const dir = tmpDir()
    addToIndex(dir, [[key(1), json(1)]])
    fs.appendFileSync(indexFile(dir), `${key(2)}\t{"id":`)
    addToIndex(dir, [[key(3), json(3)]])
    expect(texts(loadIndex(dir).entries)).toEqual([
      [key(1), '{"id":"1"}'],
      [key(3), '{"id":"3"}'],
    ])
  })

  it('rewrites the file without dead lines once they outnumber live ones', () => {
    const dir = tmpDir()
    const all = Array.from({ length: 1500 }, (_, i) => [key(i), json(i)] as [string, Buffer])
    saveIndex(loadIndex(dir), all, new Set(all.map((e) => e[0])))
    const live = new Set([key(0), key(1)])
    saveIndex(loadIndex(dir), [[key(2000), json(2000)]], new Set([...live, key(2000)]))
    const after = loadIndex(dir)
    expect(after.lines).toBe(3)
    expect([...after.entries.keys()].sort()).toEqual([key(0), key(1), key(2000)].sort())
  })

  it('never fails a listing when it cannot be written', () => {
    const dir = tmpDir()
    fs.writeFileSync(path.join(dir, 'xp'), 'a file where the folder should be')
    expect(() => saveIndex(loadIndex(dir), [[key(1), json(1)]], new Set([key(1)]))).not.toThrow()
  })
})
