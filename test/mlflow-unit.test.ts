// Pure parts of the MLflow API: the search grammar, experiment ids, the version and
// alias mapping, param typing, final metrics, the Authorization forms, the live store.
import { describe, it, expect, afterAll } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { parseFilter, searchRuns, parseOrderBy, type SearchRun } from '../src/core/mlflow/search.js'
import { experimentId } from '../src/core/mlflow/experiments.js'
import { mlflowVersion, gtoVersion } from '../src/core/mlflow/registry.js'
import { typeParam, finalMetrics, seriesFile, seriesText, parseSeriesText } from '../src/core/runs/live-record.js'
import { LiveStore, metricEvent } from '../src/core/runs/live.js'
import { mlflowAuthorized } from '../src/ui/mlflow-auth.js'
import { xpName } from '../src/core/mlflow/service.js'
import { cleanupTmp, tmpDir } from './helpers.js'

afterAll(() => cleanupTmp())

const run = (i: number, over: Partial<SearchRun> = {}): SearchRun => ({
  run_id: `r${String(i).padStart(5, '0')}`,
  run_name: `run-${i}`,
  status: i % 10 === 0 ? 'FAILED' : 'FINISHED',
  user_id: 'me',
  start_time: 1_000_000 + i,
  end_time: 1_000_100 + i,
  artifact_uri: '',
  lifecycle_stage: 'active',
  experiment_id: '0',
  params: { lr: [0.1, 0.01, 0.001][i % 3], opt: i % 2 ? 'adam' : 'SGD', depth: i % 7 },
  metrics: { acc: (i % 100) / 100, loss: 1 - (i % 100) / 100 },
  tags: { team: i % 4 ? 'growth' : 'core', 'mlflow.runName': `run-${i}` },
  ...over,
})

describe('the filter grammar', () => {
  const runs = Array.from({ length: 200 }, (_, i) => run(i))
  const ids = (filter: string, extra: { orderBy?: string[]; maxResults?: number } = {}) => searchRuns(runs, { filter, ...extra }).runs.map((r) => r.run_id)

  it('compares metrics as numbers and params and tags as strings, joined by AND', () => {
    expect(ids('metrics.acc >= 0.98')).toEqual(['r00199', 'r00198', 'r00099', 'r00098'])
    expect(ids("metrics.acc > 0.9 and params.opt = 'adam' AND tags.team != 'core'")).toEqual([
      'r00199',
      'r00197',
      'r00195',
      'r00193',
      'r00191',
      'r00099',
      'r00097',
      'r00095',
      'r00093',
      'r00091',
    ])
    expect(ids("params.lr = '0.1' and metrics.acc < 0.04")).toEqual(['r00102', 'r00003', 'r00000'])
    expect(ids('params.depth = "6" and metrics.acc < 0.3')).toEqual(['r00125', 'r00118', 'r00111', 'r00104', 'r00027', 'r00020', 'r00013', 'r00006'])
  })

  it('LIKE, ILIKE, IN and NOT IN; attributes; quoted and dotted keys', () => {
    expect(ids("params.opt LIKE 'S%' and metrics.acc < 0.05")).toEqual(['r00104', 'r00102', 'r00100', 'r00004', 'r00002', 'r00000'])
    expect(ids("params.opt ILIKE 's_d' and metrics.acc < 0.03")).toEqual(['r00102', 'r00100', 'r00002', 'r00000'])
    expect(ids("attributes.status IN ('FAILED') and metrics.acc < 0.3")).toEqual(['r00120', 'r00110', 'r00100', 'r00020', 'r00010', 'r00000'])
    expect(ids("attributes.status NOT IN ('FINISHED') and tags.team = 'core' and metrics.acc < 0.5")).toEqual([
      'r00140',
      'r00120',
      'r00100',
      'r00040',
      'r00020',
      'r00000',
    ])
    expect(ids("tags.`mlflow.runName` = 'run-7'")).toEqual(['r00007'])
    expect(ids("tags.mlflow.runName = 'run-8'")).toEqual(['r00008'])
    expect(ids('tags."mlflow.runName" = \'run-9\'')).toEqual(['r00009'])
    expect(ids("attributes.run_name = 'run-3'")).toEqual(['r00003'])
    expect(ids('attributes.start_time > 1000197')).toEqual(['r00199', 'r00198'])
    expect(ids("run_id = 'r00005'")).toEqual(['r00005'])
  })

  it('a run without the key never matches, even with !=', () => {
    const some = [run(1), run(2, { metrics: {} }), run(3, { params: {} })]
    expect(searchRuns(some, { filter: 'metrics.acc != 0.5' }).runs.map((r) => r.run_id)).toEqual(['r00003', 'r00001'])
    expect(searchRuns(some, { filter: "params.opt != 'x'" }).runs.map((r) => r.run_id)).toEqual(['r00002', 'r00001'])
  })

  it('a syntax error is INVALID_PARAMETER_VALUE naming the position', () => {
    const err = (f: string) => {
      try {
        parseFilter(f)
      } catch (e: any) {
        return { code: e.data.mlflow, message: e.message }
      }
      throw new Error(`no error for ${f}`)
    }
    expect(err('metrics.acc >')).toMatchObject({ code: 'INVALID_PARAMETER_VALUE', message: expect.stringContaining('position 13') })
    expect(err("metrics.acc > 0.5 or params.a = 'b'").message).toMatch(/position 18: OR is not supported/)
    expect(err("params.a < 'b'").message).toMatch(/position 9/)
    expect(err("foo.a = 'b'").message).toMatch(/position 0: unknown key type "foo"/)
    expect(err("params.a = 'b").message).toMatch(/position 11: unterminated/)
    expect(err('metrics.acc = abc').message).toMatch(/position 14: expected a number/)
    expect(err("metrics.acc > 0.5 params.a = 'b'").message).toMatch(/position 18: expected AND/)
    expect(err("params.a IN 'b'").message).toMatch(/position 12/)
    expect(err('attributes.nope = 1').message).toMatch(/unknown attribute/)
  })

  it('order_by (missing values last), then start time, newest first; max_results and page tokens', () => {
    const some = [run(1, { metrics: { acc: 0.5 } }), run(2, { metrics: {} }), run(3, { metrics: { acc: 0.9 } }), run(4, { metrics: { acc: 0.5 } })]
    expect(searchRuns(some, { orderBy: ['metrics.acc DESC'] }).runs.map((r) => r.run_id)).toEqual(['r00003', 'r00004', 'r00001', 'r00002'])
    expect(searchRuns(some, { orderBy: ['metrics.acc'] }).runs.map((r) => r.run_id)).toEqual(['r00004', 'r00001', 'r00003', 'r00002'])
    expect(searchRuns(some, {}).runs.map((r) => r.run_id)).toEqual(['r00004', 'r00003', 'r00002', 'r00001'])
    const all: string[] = []
    let token: string | undefined
    let pages = 0
    do {
      const page = searchRuns(runs, { filter: 'metrics.acc > 0.5', orderBy: ['params.lr ASC', 'attributes.start_time DESC'], maxResults: 30, pageToken: token })
      all.push(...page.runs.map((r) => r.run_id))
      token = page.nextPageToken
      pages++
    } while (token)
    expect(pages).toBe(4)
    expect(new Set(all).size).toBe(98)
    expect(() => parseOrderBy(['metrics.acc SIDEWAYS'])).toThrow(/order_by/)
    expect(() => searchRuns(runs, { pageToken: 'garbage!' })).toThrow(/page token/)
    expect(() => searchRuns(runs, { maxResults: 50001 })).toThrow(/max_results/)
  })

  it('filters and orders 10,000 runs well under 0.3 s', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => run(i))
    const t0 = performance.now()
    const res = searchRuns(many, {
      filter: "metrics.acc > 0.5 and params.opt = 'adam' and tags.team LIKE 'gr%'",
      orderBy: ['metrics.acc DESC'],
      maxResults: 1000,
    })
    const ms = performance.now() - t0
    expect(res.runs).toHaveLength(1000)
    expect(ms).toBeLessThan(300)
  })
})

describe('mapping', () => {
  it('experiment ids come from the name: the same on every machine; Default is 0', () => {
    expect(experimentId('Default')).toBe('0')
    expect(experimentId('churn')).toBe(experimentId('churn'))
    expect(experimentId('churn')).not.toBe(experimentId('churn2'))
    expect(Number.isSafeInteger(Number(experimentId('churn')))).toBe(true)
  })

  it('MLflow version N is GTO vN.0.0; other versions keep their SemVer', () => {
    expect(gtoVersion('3')).toBe('v3.0.0')
    expect(mlflowVersion('v3.0.0')).toBe('3')
    expect(mlflowVersion('v0.0.1')).toBe('0.0.1')
    expect(gtoVersion('0.0.1')).toBe('v0.0.1')
  })

  it('params are typed as -S types them only when they print back the same', () => {
    expect(typeParam('0.1')).toBe(0.1)
    expect(typeParam('10')).toBe(10)
    expect(typeParam('1e-3')).toBe('1e-3')
    expect(typeParam('True')).toBe('True')
    expect(typeParam('true')).toBe(true)
    expect(typeParam('None')).toBe('None')
    expect(typeParam('[1, 2]')).toBe('[1, 2]')
  })

  it('a final metric is the value at the highest step; series files round-trip every point', () => {
    expect(
      finalMetrics({
        loss: [
          [0, 1, 10],
          [2, 0.2, 5],
          [1, 0.5, 20],
        ],
        nan: [[0, NaN, 1]],
      }),
    ).toEqual({ loss: 0.2, nan: 'NaN' })
    const pts: Array<[number, number, number]> = [
      [0, 0.1234567890123, 1796063388927],
      [1, -1e-300, 1796063388930],
    ]
    expect(parseSeriesText(seriesText('a/b', pts))).toEqual(pts)
    expect(seriesFile('a/b%c')).toBe('.xp-run/metrics/a%2Fb%25c.tsv')
  })

  it('MLflow run names become unique xp names', () => {
    const taken = new Set(['sgd-baseline'])
    expect(xpName('sgd-baseline', taken)).toBe('sgd-baseline-2')
    expect(xpName('my run (v2)', taken)).toBe('my-run-v2')
    expect(xpName('../../etc', taken)).toBe('etc')
  })

  it('the Authorization forms MLflow clients send', () => {
    expect(mlflowAuthorized('Bearer tok', 'tok')).toBe(true)
    expect(mlflowAuthorized('bearer tok', 'tok')).toBe(true)
    expect(mlflowAuthorized(`Basic ${Buffer.from('anyone:tok').toString('base64')}`, 'tok')).toBe(true)
    expect(mlflowAuthorized(`Basic ${Buffer.from('tok:').toString('base64')}`, 'tok')).toBe(false)
    expect(mlflowAuthorized('Bearer tok2', 'tok')).toBe(false)
    expect(mlflowAuthorized(undefined, 'tok')).toBe(false)
    expect(mlflowAuthorized('Bearer ', '')).toBe(false)
  })
})

describe('the live store', () => {
  it('folds appended events; a second store on the same folder sees them; a torn tail is skipped', () => {
    const dir = tmpDir()
    const a = new LiveStore(dir)
    const b = new LiveStore(dir)
    const id = '01m8q1e4zvqsz3bjr1hc'
    a.create({ id, name: 'n', experiment: 'Default', started: 1 })
    a.append(id, [{ e: 'p', k: 'lr', v: '0.1' }, metricEvent('loss', 0.5, 0, 10)])
    b.append(id, [metricEvent('loss', Infinity, 1, 11)])
    expect(a.get(id)!.metrics.loss).toEqual([
      [0, 0.5, 10],
      [1, Infinity, 11],
    ])
    fs.appendFileSync(path.join(dir, 'live', `${id}.jsonl`), '{"e":"p","k":"x","v":"torn')
    expect(b.get(id)!.params).toEqual({ lr: '0.1' })
    b.append(id, [{ e: 't', k: 'team', v: 'growth' }])
    expect(a.get(id)!.tags).toEqual({ team: 'growth' })
    expect(a.get(id)!.params).toEqual({ lr: '0.1' })
    expect(() => a.create({ id, name: 'n', experiment: 'Default', started: 1 })).toThrow(/exists/)
  })
})

describe('the name filter of experiments and registered models', () => {
  it('takes =, !=, LIKE and ILIKE with SQL wildcards, attributes.name where allowed, and refuses anything else', async () => {
    const { nameFilter } = await import('../src/core/mlflow/search.js')
    expect(['churn', 'churn-v2', 'Churn_3', 'other'].filter(nameFilter("name LIKE 'churn%'", 'x'))).toEqual(['churn', 'churn-v2'])
    expect(['churn', 'Churn_3'].filter(nameFilter("name ILIKE 'CHURN_3'", 'x'))).toEqual(['Churn_3'])
    expect(['a', 'b'].filter(nameFilter("name != 'a'", 'x'))).toEqual(['b'])
    expect(['a.b', 'aXb'].filter(nameFilter("name = 'a.b'", 'x'))).toEqual(['a.b'])
    expect(['e'].filter(nameFilter("attributes.name = 'e'", 'experiments', { attributes: true }))).toEqual(['e'])
    expect(() => nameFilter("attributes.name = 'e'", 'registered models')).toThrow(/registered models are searched by name/)
    expect(nameFilter('  ', 'x')('anything')).toBe(true)
  })
})
