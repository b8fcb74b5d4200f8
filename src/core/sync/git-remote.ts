/**
 * Talking to a git remote through the git binary, so every URL git reaches works (path,
 * file://, ssh, http(s), git://) with the user's credential helpers and GIT_SSH_COMMAND:
 * the context's environment is passed through whole.
 */
import type { Repo } from '../repo.js'
import { git, type GitResult } from '../git.js'
import { XpError } from '../errors.js'
import { RUNS_PREFIX, NOTES_REF } from '../runs/ref.js'
import { parseLsRemote, TAGS_PREFIX, type RefEntry } from './refs.js'

export const DEFAULT_GIT_REMOTE = 'origin'

/** Does this word name a git remote (configured, or a URL or path) rather than a run? */
export async function isGitRemote(repo: Pick<Repo, 'root' | 'ctx'>, word: string): Promise<boolean> {
  if (looksLikeUrl(word)) return true
  return (await configuredRemotes(repo)).includes(word)
}

export function looksLikeUrl(word: string): boolean {
  return /[/:\\]/.test(word) || word === '.' || word === '..' || word.endsWith('.git')
}

export async function configuredRemotes(repo: Pick<Repo, 'root' | 'ctx'>): Promise<string[]> {
  const res = await git(['remote'], { cwd: repo.root, env: repo.ctx.env, allowFail: true })
  return res.stdout.split('\n').filter(Boolean)
}

/**
 * Split `[GIT_REMOTE] [RUN...]`: the first word is the remote when it names one or looks
 * like a URL; otherwise every word is a run and the remote is `origin`. With no word at all
 * and no `origin`, the remote is null: push and pull then move the data alone (as `dvc
 * push` does), when a data remote is set.
 */
export async function splitRemoteArgs(repo: Pick<Repo, 'root' | 'ctx'>, words: string[]): Promise<{ remote: string | null; runs: string[] }> {
  if (words.length && (await isGitRemote(repo, words[0]))) return { remote: words[0], runs: words.slice(1) }
  const remotes = await configuredRemotes(repo)
  if (!remotes.includes(DEFAULT_GIT_REMOTE)) {
    if (!words.length) return { remote: null, runs: [] }
    throw noGitRemote(words[0])
  }
  return { remote: DEFAULT_GIT_REMOTE, runs: words }
}

/** XP_GIT_REMOTE_NOT_FOUND: no `origin` (and `word`, when given, names none either). */
export function noGitRemote(word?: string): XpError {
  return new XpError('XP_GIT_REMOTE_NOT_FOUND', `no git remote named "${DEFAULT_GIT_REMOTE}"${word ? ` (and "${word}" is not a remote)` : ''}`, {
    hint: 'name a remote or URL first (`xp push REMOTE`), or add one with `git remote add origin URL`; with a data remote set (`xp remote add NAME URL --default`), `xp push` and `xp pull` move the data alone',
  })
}

/** Turn a failed git network command into a one-line XpError (exit 4). */
export function gitRemoteError(remote: string, res: GitResult, what: string): XpError {
  const lines = res.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
  const fatal = lines.filter((l) => /^(fatal|error):/.test(l)).map((l) => l.replace(/^(fatal|error):\s*/, ''))
  const detail = (fatal[0] ?? lines[lines.length - 1] ?? `exit ${res.code}`).replace(/\.$/, '')
  const unreachable =
    /could not read from remote|unable to access|does not appear to be a git repository|not found|could not resolve|connection refused|unable to connect|no such file|repository .* does not exist|host key|permission denied|authentication failed|timed out/i
  if (unreachable.test(res.stderr))
    return new XpError('XP_GIT_REMOTE_UNREACHABLE', `cannot ${what} git remote "${remote}": ${detail}`, {
      hint: 'check the URL (`git remote -v`), your network and your credentials',
      data: { stderr: res.stderr },
    })
  return new XpError('XP_GIT_REMOTE_FAILED', `${what} git remote "${remote}" failed: ${detail}`, { data: { stderr: res.stderr } })
}

/** The shared refs (runs, notes, tags) a remote has, in one `git ls-remote`. */
export async function remoteRefs(repo: Pick<Repo, 'root' | 'ctx'>, remote: string): Promise<Map<string, RefEntry>> {
  const res = await git(['ls-remote', remote, `${RUNS_PREFIX}*`, NOTES_REF, `${TAGS_PREFIX}*`], {
    cwd: repo.root,
    env: repo.ctx.env,
    allowFail: true,
    signal: repo.ctx.signal,
  })
  if (res.code !== 0) throw gitRemoteError(remote, res, 'read')
  return parseLsRemote(res.stdout)
}
