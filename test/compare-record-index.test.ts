import { describe, it, expect, afterAll } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import {
  loadIndex,
  saveIndex,
  addToIndex,
  indexFile,
  indexEntry,
  entryInProject,
  projectBytes,
  NOT_A_RECORD_ENTRY,
  type IndexEntry,
} from '../src/core/runs/record-index.js'
import { tmpDir, cleanupTmp } from './helpers.js'

afterAll(cleanupTmp)

const key = (i: number) => `${i.toString(16).padStart(40, '0')} refs/xp/runs/01m8${String(i).padStart(16, '0')}`
const json = (i: number, project?: string) => indexEntry(Buffer.from(`{"id":"${i}"}`), project)
const texts = (m: Map<string, IndexEntry>) => [...m].map(([k, v]) => [k, v.json.toString()])

describe('the record index file', () => {
  it('round-trips entries and starts empty when missing', () => {
    const dir = tmpDir()
    expect(loadIndex(dir).entries.size).toBe(0)
    saveIndex(
      loadIndex(dir),
      [
        [key(1), json(1)],
        [key(2), NOT_A_RECORD_ENTRY],
      ],
      new Set([key(1), key(2)]),
    )
    const idx = loadIndex(dir)
    expect(texts(idx.entries)).toEqual([
      [key(1), '{"id":"1"}'],
      [key(2), 'null'],
    ])
    expect(idx.torn).toBe(false)
    expect(indexFile(dir)).toBe(path.join(dir, 'xp', 'runs-v2.idx'))
  })

  it('ignores foreign and torn lines, and appends after a torn line on a new line', () => {
    const dir = tmpDir()
    fs.mkdirSync(path.join(dir, 'xp'))
    fs.writeFileSync(
      indexFile(dir),
      `garbage\n${key(1)}\t\tnot json\n${key(4)}\t{"id":"4"}\n${key(5)}\tnot a project\t{"id":"5"}\n${key(2)}\t\t{"id":"2"}\n${key(3)}\t\t{"id":`,
    )
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
    fs.appendFileSync(indexFile(dir), `${key(2)}\t\t{"id":`)
    addToIndex(dir, [[key(3), json(3)]])
    expect(texts(loadIndex(dir).entries)).toEqual([
      [key(1), '{"id":"1"}'],
      [key(3), '{"id":"3"}'],
    ])
  })

  it('rewrites the file without dead lines once they outnumber live ones', () => {
    const dir = tmpDir()
    const all = Array.from({ length: 1500 }, (_, i) => [key(i), json(i)] as [string, IndexEntry])
    saveIndex(loadIndex(dir), all, new Set(all.map((e) => e[0])))
    const live = new Set([key(0), key(1)])
    saveIndex(loadIndex(dir), [[key(2000), json(2000)]], new Set([...live, key(2000)]))
    const after = loadIndex(dir)
    expect(after.lines).toBe(3)
    expect([...after.entries.keys()].sort()).toEqual([key(0), key(1), key(2000)].sort())
  })

  it("keeps each record's project beside it: a JSON string, nothing for a record without one, read back without parsing the record", () => {
    const dir = tmpDir()
    saveIndex(
      loadIndex(dir),
      [
        [key(1), json(1, 'a')],
        [key(2), json(2, '')],
        [key(3), json(3)],
        [key(4), json(4, 'tab\there "q"/é')],
      ],
      new Set([key(1), key(2), key(3), key(4)]),
    )
    expect(fs.readFileSync(indexFile(dir), 'utf8').split('\n')[0]).toBe(`${key(1)}\t"a"\t{"id":"1"}`)
    const idx = loadIndex(dir)
    const proj = (k: string) => idx.entries.get(k)!.project.toString()
    expect([proj(key(1)), proj(key(2)), proj(key(3)), proj(key(4))]).toEqual(['"a"', '""', '', JSON.stringify('tab\there "q"/é')])
    const inA = [...idx.entries].filter(([, e]) => entryInProject(e, projectBytes('a'))).map(([k]) => k)
    // a's own, and the record without a project (it is every project's); not the root's, not another's
    expect(inA).toEqual([key(1), key(3)])
    const inRoot = [...idx.entries].filter(([, e]) => entryInProject(e, projectBytes(''))).map(([k]) => k)
    expect(inRoot).toEqual([key(2), key(3)])
  })

  it('starts afresh from an index of the older format (v1, no project column), and removes it', () => {
    const dir = tmpDir()
    fs.mkdirSync(path.join(dir, 'xp'))
    const old = path.join(dir, 'xp', 'runs-v1.idx')
    fs.writeFileSync(old, `${key(1)}\t{"id":"1"}\n`)
    expect(loadIndex(dir).entries.size).toBe(0)
    saveIndex(loadIndex(dir), [[key(1), json(1, '')]], new Set([key(1)]))
    expect(fs.existsSync(old)).toBe(false)
    expect(texts(loadIndex(dir).entries)).toEqual([[key(1), '{"id":"1"}']])
  })

  it('never fails a listing when it cannot be written', () => {
    const dir = tmpDir()
    fs.writeFileSync(path.join(dir, 'xp'), 'a file where the folder should be')
    expect(() => saveIndex(loadIndex(dir), [[key(1), json(1)]], new Set([key(1)]))).not.toThrow()
  })
})
