import type { Argv } from 'yargs'
import { cliRepo } from '../context.js'
import { startUiServer, DEFAULT_PORT } from '../../ui/server.js'
import { info } from '../output.js'
import { usageError } from '../../core/errors.js'

export const builder = (y: Argv) =>
  y
    .option('port', { alias: 'p', type: 'number', default: DEFAULT_PORT, describe: 'port to listen on (0 picks a free one)' })
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to bind (another than 127.0.0.1 exposes your runs to the network)' })
    .example('xp ui', 'open http://127.0.0.1:8390/ in a browser')

export async function handler(argv: { port: number; host: string }) {
  if (!Number.isInteger(argv.port) || argv.port < 0 || argv.port > 65535) throw usageError('XP_BAD_PORT', `not a port: ${argv.port}`, 'use --port N with 0 <= N <= 65535')
  const repo = await cliRepo()
  const ui = await startUiServer(repo, { port: argv.port, host: argv.host, token: process.env.XP_UI_TOKEN })
  process.stdout.write(`${ui.url}\n`)
  info(`serving the runs of ${repo.root}; stop with Ctrl-C`)
  const loopback = ['127.0.0.1', 'localhost', '::1'].includes(argv.host)
  info(`MLflow clients: MLFLOW_TRACKING_URI=${ui.url.replace(/\/$/, '')}${loopback ? '' : ` MLFLOW_TRACKING_TOKEN=${ui.token}`}`)
  await new Promise<void>((resolve) => {
    const stop = () => void ui.close().then(resolve)
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}
