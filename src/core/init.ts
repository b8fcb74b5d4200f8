/**
 * `xp init`: `xp.yaml` in the current folder when absent, and `.xp/` (with its own
 * .gitignore) at the repository root. Run in a subfolder, it makes that folder a project
 * of its own (a monorepo holds several, as DVC's subdir repos): commands run below it read
 * its xp.yaml, and paths in it are relative to it; its runs record it as their project
 * and its listings show them. The cache stays the repository's. Idempotent.
 */
import fs from 'node:fs'
import path from 'node:path'
import { ensureXpDir, type Repo } from './repo.js'
import { isInside } from './fsutil.js'

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

export function initRepo(repo: Repo): { created: string[]; project: string } {
  const created: string[] = []
  const project = isInside(repo.root, repo.ctx.cwd) ? path.resolve(repo.ctx.cwd) : repo.root
  const prefix = path.relative(repo.root, project).split(path.sep).join('/')
  const cfg = path.join(project, 'xp.yaml')
  if (!fs.existsSync(cfg)) {
    fs.writeFileSync(cfg, TEMPLATE)
    created.push(prefix ? `${prefix}/xp.yaml` : 'xp.yaml')
  }
  if (ensureXpDir(repo) || repo.madeXpDir) created.push('.xp/')
  return { created, project }
}
