/** `xp init`: `xp.yaml` when absent and `.xp/` with its own .gitignore. Idempotent. */
import fs from 'node:fs'
import path from 'node:path'
import { ensureXpDir, type Repo } from './repo.js'

const TEMPLATE = `# xp project settings (see README). Every key is optional.
# command: python train.py       # what \`xp run\` runs when given no command
# params: [params.yaml]          # files whose values are params
# metrics: [metrics.json]        # files the command writes with final metrics
# series: [logs/*.tsv]           # step metrics (TSV/CSV with a header, or JSONL)
# deps: [data/train]             # data inputs, hashed with every run
# outs: [models/model.bin]       # outputs, cached after every run
# artifacts:                     # models for the registry (\`xp model register NAME RUN\`)
#   churn: {path: models/model.bin, type: model, description: churn classifier}
`

export function initRepo(repo: Repo): { created: string[] } {
  const created: string[] = []
  const cfg = path.join(repo.root, 'xp.yaml')
  if (!fs.existsSync(cfg)) {
    fs.writeFileSync(cfg, TEMPLATE)
    created.push('xp.yaml')
  }
  if (!fs.existsSync(path.join(repo.xpDir, '.gitignore'))) created.push('.xp/')
  ensureXpDir(repo)
  return { created }
}
