/** Placeholder until the queue lands (issue 6): queuing is refused with a clear error. */
import { XpError } from '../errors.js'
import type { Repo } from '../repo.js'

export interface QueuedTask {
  id: string
  name: string
}

export async function queueRuns(_repo: Repo, _opts: { name?: string; set: string[]; message?: string; command: string[] }): Promise<QueuedTask[]> {
  throw new XpError('XP_NOT_IMPLEMENTED', 'the run queue is not available yet', { hint: 'run the combinations one by one with `xp run -S ...`' })
}
