/**
 * Run ids, names and refs as value objects: nothing else glues `refs/xp/runs/` to a string.
 *
 * An id is 20 lowercase Crockford base32 characters: 10 of milliseconds since the epoch
 * (so ids sort by time) and 10 random (50 bits, so machines never coordinate).
 */
import { randomBytes } from 'node:crypto'
import { XpError } from '../errors.js'

export const RUNS_PREFIX = 'refs/xp/runs/'
export const NOTES_REF = 'refs/notes/xp'
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'
const ID_RE = /^[0-9a-hjkmnp-tv-z]{20}$/

export function newRunId(now: Date, random: Buffer = randomBytes(8)): string {
  let t = now.getTime()
  let time = ''
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time
    t = Math.floor(t / 32)
  }
  let rand = ''
  let bits = 0n
  for (const b of random.subarray(0, 7)) bits = (bits << 8n) | BigInt(b)
  for (let i = 0; i < 10; i++) {
    rand += ALPHABET[Number(bits & 31n)]
    bits >>= 5n
  }
  return time + rand
}

export function isRunId(s: string): boolean {
  return ID_RE.test(s)
}

export class RunRef {
  private constructor(readonly id: string) {}

  static fromId(id: string): RunRef {
    if (!isRunId(id)) throw new XpError('XP_BAD_RUN_ID', `not a run id: ${JSON.stringify(id)}`)
    return new RunRef(id)
  }

  /** Parse `refs/xp/runs/<id>`; null for any other ref. */
  static parse(ref: string): RunRef | null {
    if (!ref.startsWith(RUNS_PREFIX)) return null
    const id = ref.slice(RUNS_PREFIX.length)
    return isRunId(id) ? new RunRef(id) : null
  }

  toString(): string {
    return RUNS_PREFIX + this.id
  }
}

const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/i

/**
 * Validate a run name: one ref component, no `/`, spaces or git's forbidden sequences,
 * at most 64 characters, and not something that could be taken for an id.
 */
export function validateRunName(name: string): string {
  const why = !NAME_RE.test(name)
    ? 'use letters, digits, ".", "_" and "-" (starting with a letter or digit, at most 64)'
    : name.includes('..') || name.endsWith('.') || name.endsWith('.lock')
      ? 'it may not contain "..", or end with "." or ".lock"'
      : isRunId(name.toLowerCase())
        ? 'it looks like a run id'
        : ''
  if (why) throw new XpError('XP_BAD_RUN_NAME', `invalid run name ${JSON.stringify(name)}: ${why}`, { hint: 'for example: -n lr-0.01' })
  return name
}

const ADJECTIVES =
  'agile bold brave brisk calm clever cosmic crisp daring deft eager fair fancy fast fond gentle glad grand happy hardy jolly keen kind lively lucky merry mighty nimble noble plucky proud quick quiet rapid ready regal rosy shiny silky sleek smart snug solid spry steady stoic sunny swift tidy vivid warm wise witty zesty'.split(
    ' ',
  )
const NOUNS =
  'otter heron lynx panda koala finch marten badger bison crane dingo eagle egret ferret gecko hare ibis jackal lemur llama macaw moose newt okapi oriole osprey owl puffin quail raven robin seal shrew skink sloth stoat swan tapir tern toucan trout vole walrus wombat wren yak zebra'.split(
    ' ',
  )

/** A readable name like `brisk-otter`; the caller retries on collision. */
export function generateName(random: Buffer = randomBytes(2)): string {
  return `${ADJECTIVES[random[0] % ADJECTIVES.length]}-${NOUNS[random[1] % NOUNS.length]}`
}
