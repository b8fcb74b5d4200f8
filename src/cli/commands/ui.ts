import type { Argv } from 'yargs'
import { cliRepo } from '../context.js'
import { startUiServer, DEFAULT_PORT } from '../../ui/server.js'
import { info, warn } from '../output.js'
import { projectPrefix, readLocalConfig } from '../../core/repo.js'
import { usageError } from '../../core/errors.js'

export const builder = (y: Argv) =>
  y
    .option('port', { alias: 'p', type: 'number', default: DEFAULT_PORT, describe: 'port to listen on (0 picks a free one)' })
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to bind (another than 127.0.0.1 exposes your runs to the network)' })
    .option('allow-host', { type: 'string', array: true, describe: 'a Host name the browser may use besides loopback and the bound address (repeatable)' })
    .option('all-projects', { type: 'boolean', describe: "list every project's runs (the page and the MLflow API's search), not only this project's" })
    .example('xp ui', 'open http://127.0.0.1:8390/ in a browser')
    .example('xp ui --host 0.0.0.0 --allow-host box.lan', 'serve the network; every request needs the printed token')

export async function handler(argv: { port: number; host: string; 'allow-host'?: string[]; 'all-projects'?: boolean }) {
  if (!Number.isInteger(argv.port) || argv.port < 0 || argv.port > 65535)
    throw usageError('XP_BAD_PORT', `not a port: ${argv.port}`, 'use --port N with 0 <= N <= 65535')
  const repo = await cliRepo()
  // off loopback: a fixed token from .xp/config.local.yaml (ui: {token: ...}), else a new one per start
  const configured = readLocalConfig(repo.xpDir).ui?.token
  const ui = await startUiServer(repo, {
    port: argv.port,
    host: argv.host,
    allowHosts: (argv['allow-host'] ?? []).map(String),
    allProjects: argv['all-projects'],
    accessToken: typeof configured === 'string' && configured ? configured : undefined,
  })
  if (!ui.loopback)
    warn(
      `xp ui listens on ${argv.host}, reachable from the network: every request needs the token in the URL below (or Authorization: Bearer TOKEN); Host names other than its addresses need --allow-host`,
    )
  process.stdout.write(`${ui.url}\n`)
  const prefix = projectPrefix(repo)
  info(`serving the runs of ${repo.root}${argv['all-projects'] ? ' (every project)' : prefix ? ` (project ${prefix}/)` : ''}; stop with Ctrl-C`)
  // MLflow's clients take the same token as MLFLOW_TRACKING_TOKEN (or as MLFLOW_TRACKING_PASSWORD)
  const address = new URL(ui.url)
  info(
    `MLflow clients: MLFLOW_TRACKING_URI=${address.origin}${address.searchParams.get('token') ? ' with the token of the address above as MLFLOW_TRACKING_TOKEN' : ''}`,
  )
  await new Promise<void>((resolve) => {
    const stop = () => void ui.close().then(resolve)
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}
