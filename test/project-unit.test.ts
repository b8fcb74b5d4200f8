/** Byte-exact edits of YAML and JSON files (xp.yaml, params files): pure, no git. */
import { describe, it, expect } from 'vitest'
import { editText } from '../src/core/yaml-edit.js'

describe('editText keeps every byte it does not edit', () => {
  it('sets a scalar in place, keeping comments, flow lists, CRLF and a BOM', () => {
    const t = '\uFEFFlr: 0.1 # rate\r\nlist: [params.yaml]\r\nname: "x"\r\n'
    expect(editText(t, 'params.yaml', [{ op: 'set', path: ['lr'], value: 0.001, raw: '1e-3' }])).toBe(
      '\uFEFFlr: 1e-3 # rate\r\nlist: [params.yaml]\r\nname: "x"\r\n',
    )
    expect(editText(t, 'params.yaml', [{ op: 'set', path: ['name'], value: 'y' }])).toBe('\uFEFFlr: 0.1 # rate\r\nlist: [params.yaml]\r\nname: "y"\r\n')
  })

  it('adds a key to a nested block map at its indentation, and to the root', () => {
    const t = 'train:\n  depth: 3 # d\n  lr: 1\nother: [a]\n'
    expect(editText(t, 'p.yaml', [{ op: 'set', path: ['train', 'seed'], value: 7 }])).toBe('train:\n  depth: 3 # d\n  lr: 1\n  seed: 7\nother: [a]\n')
    expect(editText(t, 'p.yaml', [{ op: 'set', path: ['remotes', 'storage'], value: { url: '/tmp/x' } }])).toBe(t + 'remotes: {storage: {url: /tmp/x}}\n')
  })

  it('edits JSON keeping its indentation', () => {
    const t = '{\n    "lr": 0.1,\n    "model": {"depth": 3}\n}\n'
    expect(editText(t, 'p.json', [{ op: 'set', path: ['model', 'depth'], value: 5 }])).toBe('{\n    "lr": 0.1,\n    "model": {"depth": 5}\n}\n')
    expect(editText(t, 'p.json', [{ op: 'set', path: ['seed'], value: 1 }])).toBe('{\n    "lr": 0.1,\n    "model": {"depth": 3},\n    "seed": 1\n}\n')
  })

  it("deletes an entry and replaces a top-level entry by another file's", () => {
    const t = 'params: [params.yaml]\nremotes:\n  a: {url: /a}\n  b: {url: /b}\nremote: a\n'
    expect(editText(t, 'xp.yaml', [{ op: 'delete', path: ['remotes', 'a'] }])).toBe('params: [params.yaml]\nremotes:\n  b: {url: /b}\nremote: a\n')
    expect(editText(t, 'xp.yaml', [{ op: 'replaceTop', key: 'remotes', source: 'remotes: {c: {url: /c}}\n' }])).toBe(
      'params: [params.yaml]\nremotes: {c: {url: /c}}\nremote: a\n',
    )
    expect(editText(t, 'xp.yaml', [{ op: 'replaceTop', key: 'remote', source: null }])).toBe(
      'params: [params.yaml]\nremotes:\n  a: {url: /a}\n  b: {url: /b}\n',
    )
  })
})

describe('editText on the xp.yaml shapes users have', () => {
  it('adds a remote under a block map with comments, into an empty flow map, and into a file of comments only', () => {
    const block = 'remotes:\n  # team storage\n  storage: {url: s3://x}\nremote: storage\n'
    expect(editText(block, 'xp.yaml', [{ op: 'set', path: ['remotes', 'backup'], value: { url: '/b' } }])).toBe(
      'remotes:\n  # team storage\n  storage: {url: s3://x}\n  backup: {url: /b}\nremote: storage\n',
    )
    expect(editText('remotes: {}\n', 'xp.yaml', [{ op: 'set', path: ['remotes', 'b'], value: { url: '/b' } }])).toBe('remotes: {b: {url: /b}}\n')
    const template = '# xp project settings\n# params: [params.yaml]\n'
    expect(editText(template, 'xp.yaml', [{ op: 'set', path: ['remote'], value: 'b' }])).toBe(template + 'remote: b\n')
  })

  it('refuses, writing nothing, an edit it cannot make exactly', () => {
    expect(() => editText('a: 1\n', 'p.yaml', [{ op: 'set', path: ['a', 'b'], value: 2 }])).toThrow(/cannot|XP_EDIT_FAILED/)
  })
})
