/**
 * Everything from the outside world that core functions need, passed in rather than
 * read from globals, so that tests and the queue worker can supply their own.
 * core/ never reads process.env or the cwd directly (test/layers.test.ts checks it), and
 * every time it records (run start and end, tag dates) comes from `now`. It reads the
 * system clock itself only to measure: a lock's age, progress pacing, file ages for gc.
 */
export interface Progress {
  /** what is being done, e.g. "hashing", "uploading" */
  phase: string
  done: number
  total?: number
  bytes?: number
  totalBytes?: number
}

export interface Context {
  cwd: string
  env: Record<string, string | undefined>
  now: () => Date
  signal?: AbortSignal
  onProgress?: (p: Progress) => void
  /** non-fatal problems the user should see (printed on stderr by the CLI) */
  warn: (message: string) => void
}

export function makeContext(partial: Partial<Context> & { cwd: string; env: Context['env'] }): Context {
  return {
    now: () => new Date(),
    warn: () => {},
    ...partial,
  }
}
