/** The CLI's side of the context: the real process, cwd, clock and a stderr warner. */
import { makeContext, type Context } from '../core/context.js'
import { findRepo, type Repo } from '../core/repo.js'
import { warn } from './output.js'

export function cliContext(): Context {
  return makeContext({ cwd: process.cwd(), env: process.env, warn })
}

export function cliRepo(): Promise<Repo> {
  return findRepo(cliContext())
}
