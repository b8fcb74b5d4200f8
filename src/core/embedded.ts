/**
 * Files built into the single executable (scripts/build-binary.mjs puts the saved help and
 * the page of `xp ui` in as text), since it has no folder beside it to read them from.
 * Anywhere else (the bundle in dist/, the sources under test) there are none, and callers
 * read the file beside the bundle.
 *
 * @example
 * embeddedFile('help.txt') ?? fs.readFileSync(new URL('./help.txt', import.meta.url))
 */
declare const __XP_EMBEDDED__: Record<string, string> | undefined

export function embeddedFile(name: string): Buffer | undefined {
  const files = typeof __XP_EMBEDDED__ === 'object' ? __XP_EMBEDDED__ : undefined
  const text = files?.[name]
  return text === undefined ? undefined : Buffer.from(text)
}

/**
 * True inside the single executable, where `process.argv[1]` is the executable again
 * rather than a script: xp starting itself (a detached queue worker) passes no script then.
 */
export function inSingleExecutable(): boolean {
  return typeof __XP_EMBEDDED__ === 'object'
}
