/** Helpers shared by the journey tests (test/journeys-*.test.ts). */
import fs from 'node:fs'
import path from 'node:path'

/** Every file under dir, recursively. */
export function allFiles(dir: string): string[] {
  const out: string[] = []
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) out.push(...allFiles(p))
    else out.push(p)
  }
  return out
}
