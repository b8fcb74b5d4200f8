/** What push and pull share on the CLI side: a repo whose context draws progress and stops on Ctrl-C. */
import { cliContext } from './context.js'
import { findRepo, type Repo } from '../core/repo.js'
import { XpError } from '../core/errors.js'
import { ttyProgress } from './progress.js'
import { formatBytes } from './format-bytes.js'
import type { TransferSummary } from '../core/sync/transfer.js'

export async function syncRepo(): Promise<Repo> {
  const abort = new AbortController()
  process.once('SIGINT', () => abort.abort())
  const progress = ttyProgress()
  process.once('exit', progress.done)
  return findRepo({ ...cliContext(), onProgress: progress.onProgress, signal: abort.signal })
}

/** Run a push or pull; after Ctrl-C whatever failed is reported as the interruption it was (exit 130). */
export async function interruptible<T>(repo: Repo, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (e) {
    if (repo.ctx.signal?.aborted && !(e instanceof XpError && e.code === 'XP_INTERRUPTED'))
      throw new XpError('XP_INTERRUPTED', 'interrupted: every object is complete or absent, and refs are pushed only after their data', {
        hint: 'run the command again; what arrived is not sent twice',
      })
    throw e
  }
}

export function transferLine(t: TransferSummary & { remote: string }, verb: string): string {
  return `data: ${t.transferred} object${t.transferred === 1 ? '' : 's'} ${verb} (${formatBytes(t.bytes)}), ${t.present} already there (${t.remote})`
}
