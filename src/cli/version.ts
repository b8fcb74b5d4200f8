/**
 * `xp --version`: xp's own version (package.json's, put in by the build) and the git that
 * xp would run, since xp is a front end to it and needs git 2.x on PATH.
 *
 * @example
 * await versionText(process.env) // "xp 0.1.0\ngit 2.39.5\nnode v20.20.2\n"
 */
import { gitVersion } from '../core/runs/env.js'

declare const __XP_VERSION__: string | undefined

/** The version of this build; `0.0.0-dev` when the sources run unbundled (unit tests). */
export const XP_VERSION: string = typeof __XP_VERSION__ === 'string' ? __XP_VERSION__ : '0.0.0-dev'

export async function versionText(env: Record<string, string | undefined>): Promise<string> {
  const git = await gitVersion(env)
  return `xp ${XP_VERSION}\ngit ${git ?? 'not found on PATH: xp needs git 2.x (https://git-scm.com)'}\nnode ${process.version}\n`
}
