import type { Argv } from 'yargs'
import { cliRepo } from '../context.js'
import { listRuns } from '../../core/runs/list.js'
import { printJson } from '../output.js'
export const builder = (y: Argv) => y.option('json', { type: 'boolean' })
export async function handler() {
  printJson(await listRuns(await cliRepo()))
}
