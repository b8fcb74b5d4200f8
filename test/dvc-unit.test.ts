// The pure parts of coming from DVC: dvc.yaml, .dvc/dvc.lock entries, experiment refs,
// column naming, DVCLive series names and DVC's plot templates. No git, no processes.
import { describe, it, expect } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { ROOT } from './helpers.js'
import { parseDvcYaml, mergeDvcDefaults } from '../src/core/dvc/project.js'
import { parseDvcFile, parseDvcLock, dvcDeps, isDvcOid, fastLock, readDvcLock } from '../src/core/dvc/data.js'
import { parseStructured } from '../src/core/params.js'
import { ExpRef, globRegExp } from '../src/core/dvc/import.js'
import { mergeFlat } from '../src/core/runs/record-run.js'
import { mergeSeries, dvcliveFolder } from '../src/ui/series.js'
import { dataPlot, defFor, confusionCounts, drawDataPlot } from '../src/ui/dvc-plots.js'
import { Oid } from '../src/core/cache/oid.js'

const LIVE = path.join(ROOT, 'fixtures', 'dvc', 'dvclive-3.3.1')

describe('dvc.yaml', () => {
  it("reads DVCLive's dvc.yaml: params, metrics, plot folders as series, templates, artifacts", () => {
    const p = parseDvcYaml(fs.readFileSync(path.join(LIVE, 'dvc.yaml'), 'utf8'))
    expect(p.params).toEqual(['dvclive/params.yaml'])
    expect(p.metrics).toEqual(['dvclive/metrics.json'])
    expect(p.series).toEqual(['dvclive/plots/metrics/**/*.tsv', 'dvclive/plots/images/**/*.tsv'])
    expect(p.plots.find((d) => d.id.endsWith('confusion_matrix.json'))).toMatchObject({
      template: 'confusion',
      x: 'actual',
      y: 'predicted',
      title: 'Confusion Matrix',
    })
    expect(p.artifacts).toEqual({ churn: { path: 'model.pkl', type: 'model' } })
  })

  it("reads stages: a param key means params.yaml, {file: keys} a file, metrics with options, DVC 2's live", () => {
    const p = parseDvcYaml(
      'stages:\n  a:\n    params: [lr, {conf/t.yaml: [x]}]\n    metrics: [{m.json: {cache: false}}]\n    live:\n      logs: {summary: true}\n',
    )
    expect(p.params).toEqual(['params.yaml', 'conf/t.yaml'])
    expect(p.metrics).toEqual(['m.json', 'logs.json'])
    expect(p.series).toEqual(['logs/**/*.tsv'])
  })

  it('drops paths that would leave the repository', () => {
    const p = parseDvcYaml(
      'params: [../../etc/passwd, /etc/x.yaml, ok.yaml]\nmetrics: [s3://b/m.json, m.json]\nplots: [~/x.png, {../p.json: {template: confusion}}]\nartifacts:\n  a: {path: ../../m.pkl}\n',
    )
    expect([p.params, p.metrics, p.plots, p.artifacts]).toEqual([['ok.yaml'], ['m.json'], [], {}])
  })

  it('fills only what xp.yaml leaves unset; xp.yaml artifacts win', () => {
    const dvc = parseDvcYaml('params: [dvclive/params.yaml]\nmetrics: [m.json]\nartifacts:\n  a: {path: x.pkl}\n  b: {path: y.pkl}\n')
    expect(mergeDvcDefaults({ metrics: ['own.json'], artifacts: { a: { path: 'mine' } } }, dvc, true)).toEqual({
      params: ['params.yaml', 'dvclive/params.yaml'],
      metrics: ['own.json'],
      artifacts: { a: { path: 'mine' }, b: { path: 'y.pkl' } },
    })
  })
})

describe("DVC's data versions", () => {
  it('reads .dvc outs relative to their folder and lock deps/outs; md5 oids are never xp oids', () => {
    expect(parseDvcFile('outs:\n- md5: aa.dir\n  size: 3\n  nfiles: 2\n  path: raw\n', 'data/raw.dvc')).toEqual([
      { path: 'data/raw', entry: { oid: 'md5:aa.dir', size: 3, files: 2 } },
    ])
    const lock = parseDvcLock(
      "schema: '2.0'\nstages:\n  t:\n    deps:\n    - path: train.py\n      md5: 11\n      size: 1\n    outs:\n    - path: model.pkl\n      md5: '22'\n      size: 2\n",
    )
    expect(dvcDeps(lock, (p) => p === 'train.py')).toEqual({ 'model.pkl': { oid: 'md5:22', size: 2 } })
    expect(Oid.isValid('4e426edace896abdb8c5fae9a265c7f4')).toBe(true)
    expect(Oid.isValid('md5:4e426edace896abdb8c5fae9a265c7f4')).toBe(false)
    expect(isDvcOid('md5:4e426edace896abdb8c5fae9a265c7f4')).toBe(true)
  })
})

describe('dvc.lock read line by line', () => {
  const LOCKS = [
    // DVC 3.28's, from the 201-experiment sample
    "schema: '2.0'\nstages:\n  train:\n    cmd: python3 train.py\n    deps:\n    - path: train.py\n      hash: md5\n      md5: a0e10889bd500de19cd89506dd79b0e4\n      size: 177\n    params:\n      params.yaml:\n        epochs: 107\n        lr: 0.107\n    outs:\n    - path: metrics.json\n      hash: md5\n      md5: a135ffd124575dcc9ef8a438766a352e\n      size: 30\n",
    // a list of commands, a folder dep, two stages, a list indented under its key
    'schema: \'2.0\'\nstages:\n  train:\n    cmd:\n    - python a.py\n    - python b.py\n    deps:\n    - path: data\n      md5: 22a1a2931c8370d3aeedd7183606fd7f.dir\n      size: 11\n      nfiles: 2\n  eval:\n    cmd: python e.py --out "x y"\n    deps:\n      - path: model.bin\n        md5: 6d7f\n',
    // DVC 1.x: stages at the top
    'train:\n  cmd: python t.py\n  outs:\n  - path: m\n    md5: 22\n',
  ]
  it('reads what the yaml library reads, and hands anything unusual to it', () => {
    for (const t of LOCKS) expect(fastLock(t)).toEqual(parseStructured(t, 'dvc.lock'))
    const flow = "stages:\n  a:\n    cmd: |\n      echo hi\n    outs: [{path: x, md5: '1'}]\n"
    expect(fastLock(flow)).toBeNull()
    expect(readDvcLock(flow)).toEqual({ entries: [{ path: 'x', entry: { oid: 'md5:1', size: 0 } }], commands: ['echo hi\n'] })
    expect(readDvcLock(LOCKS[1]).commands).toEqual(['python a.py', 'python b.py', 'python e.py --out "x y"'])
  })
})

describe('experiment refs', () => {
  it("parses DVC's ExpRefInfo layout and skips its other namespaces", () => {
    const b = 'dd2d43e746e228688856074b9e76c2324a923793'
    expect(ExpRef.parse(`refs/exps/dd/${b.slice(2)}/proud-jird`)).toMatchObject({ baseline: b, name: 'proud-jird' })
    expect(String(ExpRef.parse(`refs/exps/dd/${b.slice(2)}/proud-jird`))).toBe(`refs/exps/dd/${b.slice(2)}/proud-jird`)
    for (const r of [
      'refs/exps/exec/EXEC_HEAD',
      'refs/exps/celery/stash',
      'refs/exps/stash',
      'refs/exps/apply/ORIG_HEAD',
      `refs/exps/d/${b}/x`,
      'refs/heads/main',
    ])
      expect(ExpRef.parse(r)).toBeNull()
  })

  it('globs as fast-glob does for series', () => {
    const g = globRegExp('dvclive/plots/metrics/**/*.tsv')
    expect(['dvclive/plots/metrics/acc.tsv', 'dvclive/plots/metrics/train/loss.tsv'].every((p) => g.test(p))).toBe(true)
    expect(g.test('dvclive/plots/metrics.tsv') || g.test('dvclive/plots/metrics/a.csv')).toBe(false)
  })
})

describe('names as DVC shows them', () => {
  it('params and metrics of several files: bare unless two files share a key (the first file stays bare)', () => {
    expect(
      mergeFlat([
        { file: 'params.yaml', flat: { lr: 1, seed: 2 } },
        { file: 'dvclive/params.yaml', flat: { lr: 3, epochs: 5 } },
      ]),
    ).toEqual({ lr: 1, seed: 2, 'dvclive/params.yaml:lr': 3, epochs: 5 })
  })

  it("DVCLive's nested series are train/loss and val/loss, not loss and PATH:loss", () => {
    expect(dvcliveFolder('dvclive/plots/metrics/train/loss.tsv')).toBe('train/')
    const m = mergeSeries([
      { path: 'dvclive/plots/metrics/acc.tsv', series: { acc: { x: [0], y: [1] } } },
      { path: 'dvclive/plots/metrics/train/loss.tsv', series: { loss: { x: [0], y: [2] } } },
      { path: 'dvclive/plots/metrics/val/loss.tsv', series: { loss: { x: [0], y: [3] } } },
    ])
    expect(Object.keys(m)).toEqual(['acc', 'train/loss', 'val/loss'])
  })
})

describe("DVC's plot templates", () => {
  const cm = JSON.parse(fs.readFileSync(path.join(LIVE, 'dvclive/plots/sklearn/confusion_matrix.json'), 'utf8'))

  it('counts a confusion matrix from the {actual, predicted} rows DVCLive writes', () => {
    const p = dataPlot('dvclive/plots/sklearn/confusion_matrix.json', cm, undefined)!
    expect(p).toMatchObject({
      template: 'confusion',
      x: 'actual',
      y: 'predicted',
      title: 'Confusion Matrix',
      x_label: 'True Label',
      y_label: 'Predicted Label',
    })
    const { xs, ys, count } = confusionCounts(p.rows, p.x, p.y)
    expect([xs, ys]).toEqual([
      ['0', '1'],
      ['0', '1'],
    ])
    expect(Object.fromEntries(count)).toEqual({ '0\u00000': 2, '1\u00001': 4, '1\u00000': 1, '0\u00001': 1 })
    expect(drawDataPlot([{ label: 'a', color: '#000', plot: p }])[0].attrs['data-template']).toBe('confusion')
  })

  it("takes ROC's fields from DVCLive's defaults, a dvc.yaml definition over them, and scatter as dots", () => {
    const roc = dataPlot(
      'dvclive/plots/sklearn/roc.json',
      {
        roc: [
          { fpr: 0, tpr: 0, threshold: 2 },
          { fpr: 0.5, tpr: 1, threshold: 0.5 },
        ],
      },
      undefined,
    )!
    expect(roc).toMatchObject({ template: 'simple', x: 'fpr', y: 'tpr' })
    expect(roc.rows).toHaveLength(2)
    const def = defFor(parseDvcYaml('plots:\n- custom/pts.json:\n    template: scatter\n    x: a\n    y: b\n').plots, 'custom/pts.json')
    const sc = dataPlot(
      'custom/pts.json',
      [
        { a: 1, b: 2 },
        { a: 2, b: 3 },
      ],
      def,
    )!
    const svg = drawDataPlot([{ label: 'r', color: '#000', plot: sc }])[0]
    expect(svg.attrs['data-template']).toBe('scatter')
    expect(svg.children.filter((c) => typeof c !== 'string' && c.tag === 'circle')).toHaveLength(2)
  })
})
