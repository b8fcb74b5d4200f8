/**
 * The one secret scrubber: every place xp stores or prints a command line, a log, a URL or
 * an environment goes through it (docs/security.md). It works two ways at once:
 * - by name: values of variables and flags whose names look secret (`*TOKEN*`,
 *   `--password`, `api_key=`...) and every value of every secret-named variable of the
 *   environment, wherever that value appears;
 * - by value: URL passwords (`scheme://user:PW@host`), connection-string keys
 *   (`AccountKey=`, `Password=`, `SharedAccessKey=`), and well-known token shapes (AWS
 *   access key ids, GitHub/GitLab/Slack/Hugging Face/OpenAI/Google tokens, JWTs, private
 *   key blocks, `Authorization:` headers).
 * What it replaces becomes `***`. Logs are scrubbed as a stream (`LogScrubber`): line by
 * line, bytes decoded as latin1 so that non-UTF-8 output passes through byte for byte.
 */
import type { Context } from '../context.js'

/** Variable names whose values are secrets. */
export const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|AUTH(?!OR)|PRIVATE|COOKIE|SIGNATURE/i
/** Values shorter than this are not hunted for by value (a 3-letter value would mask half a log). */
const MIN_LITERAL = 6
export const MASK = '***'

// a name that ends in a secret word, then `=` or `:`, then the value (`hf_token=...`, `"password": "..."`)
const NAME_ASSIGN = String.raw`\b([A-Za-z0-9_-]{0,40}(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?)["']?\s*[=:]\s*["']?)([^\s"',;&]{3,})`
const VALUE_SHAPES = [
  // scheme://user:password@host (git, postgres, mongodb, redis, amqp, https...)
  String.raw`([a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@'"]*:)([^\s@/'"]+)(?=@)`,
  // connection strings (Azure storage, Service Bus, SQL Server, ODBC)
  String.raw`\b((?:AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd|ClientSecret)=)([^;\s"']+)`,
  // Authorization headers and bearer tokens
  String.raw`((?:Authorization:\s*(?:Bearer|Basic|Token)|\bBearer)\s+)([A-Za-z0-9._~+/=-]{8,})`,
  // AWS access key ids
  String.raw`()\b((?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16})\b`,
  // GitHub, GitLab, Slack, Hugging Face, OpenAI/Anthropic-style, Google API keys, npm, PyPI
  String.raw`()\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}|hf_[A-Za-z0-9]{30,}|sk-[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{35}|npm_[A-Za-z0-9]{36}|pypi-[A-Za-z0-9_-]{50,})`,
  // Slack incoming webhooks
  String.raw`(https://hooks\.slack\.com/services/)([A-Za-z0-9/]+)`,
  // JSON Web Tokens
  String.raw`()\b(eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,})`,
]
const GROUPS = 3 + 2 * VALUE_SHAPES.length
// cheap literal words, one of which every pattern above contains: lines without any skip the full match
const TRIGGER = String.raw`(?:pass|passwd|password|passphrase|pwd|secret|token|key|credentials?|auth)["']?\s*[=:]|://|sharedaccess|bearer\s|basic\s|akia|asia|agpa|aida|aroa|aipa|anpa|anva|abia|acca|gh[pousr]_|github_pat_|glpat-|xox|hf_|sk-|aiza|npm_|pypi-|eyj`
const PEM_BEGIN = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----/
const PEM_END = /-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----/

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/**
 * Values to hunt for in text: every value of a secret-named variable (6+ characters), and
 * the password part of any URL or connection string found in any variable (DATABASE_URL).
 */
export function secretValues(env: Context['env']): string[] {
  const out = new Set<string>()
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || !v) continue
    if (SECRET_NAME.test(k) && v.length >= MIN_LITERAL) out.add(v)
    for (const m of v.matchAll(/[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^\s:/@]*:([^\s@/]+)@/g)) if (m[1].length >= 4) out.add(m[1])
    for (const m of v.matchAll(/\b(?:AccountKey|SharedAccessKey|Password|Pwd)=([^;\s]+)/gi)) if (m[1].length >= 4) out.add(m[1])
  }
  return [...out].sort((a, b) => b.length - a.length)
}

/**
 * A compiled scrubber for one environment. `text` scrubs a whole string (a command line,
 * an error, a URL); `stream` makes a `LogScrubber` for bytes.
 *
 * @example
 * const s = new Scrubber(['hunter2x'])
 * s.text('postgres://u:pw@h/db --token=hunter2x') // 'postgres://u:***@h/db --token=***'
 */
export class Scrubber {
  private readonly re: RegExp
  private readonly reLatin1: RegExp
  private readonly trigger: RegExp
  private readonly triggerLatin1: RegExp
  private readonly literalCount: number

  constructor(literals: string[] = []) {
    const lits = [...new Set(literals.filter((l) => l.length >= 4))].sort((a, b) => b.length - a.length)
    this.literalCount = lits.length
    const plain = lits.map(escapeRe)
    const latin1 = lits.map((l) => escapeRe(Buffer.from(l, 'utf8').toString('latin1')))
    this.re = Scrubber.compile(plain)
    this.reLatin1 = Scrubber.compile(latin1)
    this.trigger = new RegExp([...plain, TRIGGER].join('|'), 'gi')
    // run on lowercased text (latin1 keeps its length when lowercased): V8 matches a
    // case-sensitive alternation about a fifth faster than a case-insensitive one
    this.triggerLatin1 = new RegExp([...latin1.map((l) => l.toLowerCase()), TRIGGER].join('|'), 'g')
  }

  /** A scrubber for this environment's secret values (and any more values to hide). */
  static forEnv(env: Context['env'], more: string[] = []): Scrubber {
    return new Scrubber([...secretValues(env), ...more])
  }

  private static compile(literals: string[]): RegExp {
    // group 1 (literal), then pairs (kept prefix, secret) per shape; one pass per line
    const parts = [literals.length ? `(${literals.join('|')})` : '((?!))', NAME_ASSIGN, ...VALUE_SHAPES]
    return new RegExp(parts.map((p, i) => (i === 0 ? p : `(?:${p})`)).join('|'), 'gi')
  }

  /**
   * Find lines holding a trigger word (one cheap scan), and run the full pattern over those
   * lines only: most lines of a training log hold none.
   */
  private replaceWith(re: RegExp, trigger: RegExp, s: string, lowered?: string): string {
    const probe = lowered ?? s
    trigger.lastIndex = 0
    let m = trigger.exec(probe)
    if (!m) return s
    let out = ''
    let done = 0
    while (m) {
      const start = s.lastIndexOf('\n', m.index) + 1
      let end = s.indexOf('\n', m.index)
      if (end < 0) end = s.length
      out += s.slice(done, start) + this.replaceLine(re, s.slice(start, end))
      done = end
      trigger.lastIndex = end
      m = trigger.exec(probe)
    }
    return out + s.slice(done)
  }

  private replaceLine(re: RegExp, s: string): string {
    re.lastIndex = 0
    return s.replace(re, (...m: unknown[]) => {
      if (m[1] !== undefined) return MASK
      // the first (prefix, secret) pair that matched decides; the prefix is kept
      // (a kept prefix may hold a secret of another shape: s3://AKIA...:pw@ masks both)
      for (let i = 2; i < GROUPS; i += 2) if (typeof m[i + 1] === 'string') return `${m[i] ? this.replaceLine(re, m[i] as string) : ''}${MASK}`
      return MASK
    })
  }

  /** Scrub a whole string; private key blocks are cut to their BEGIN/END lines. */
  text(s: string): string {
    if (!s) return s
    let out = this.replaceWith(this.re, this.trigger, s)
    if (PEM_BEGIN.test(out)) out = out.replace(new RegExp(`(${PEM_BEGIN.source})[\\s\\S]*?(${PEM_END.source}|$)`, 'g'), `$1\n${MASK}\n$3`)
    return out
  }

  /** Scrub a latin1-decoded line (bytes as chars): used by the stream. */
  latin1Line(s: string): string {
    return this.replaceWith(this.reLatin1, this.triggerLatin1, s, s.toLowerCase())
  }

  /** A streaming scrubber over bytes. */
  stream(): LogScrubber {
    return new LogScrubber(this)
  }

  get literals(): number {
    return this.literalCount
  }
}

/** Longest run of bytes held while waiting for a newline; a longer line is scrubbed in pieces. */
const MAX_HOLD = 256 * 1024

/**
 * Scrub a byte stream line by line. `push` returns the scrubbed bytes of every complete
 * line so far; `end` returns the rest. Inside a private key block nothing passes.
 *
 * @example
 * const st = Scrubber.forEnv(env).stream(); out.write(st.push(chunk)); ...; out.write(st.end())
 */
export class LogScrubber {
  private held = ''
  private inKey = false

  constructor(private readonly scrubber: Scrubber) {}

  push(chunk: Buffer | string): Buffer {
    const s = this.held + (typeof chunk === 'string' ? Buffer.from(chunk, 'utf8').toString('latin1') : chunk.toString('latin1'))
    let cut = s.lastIndexOf('\n') + 1
    if (cut === 0 && s.length > MAX_HOLD) {
      // no newline for a long while: cut at the last blank so a token is not split
      const sp = s.lastIndexOf(' ', s.length - 1024)
      cut = sp > 0 ? sp + 1 : s.length - 1024
    }
    this.held = s.slice(cut)
    return cut ? Buffer.from(this.lines(s.slice(0, cut)), 'latin1') : Buffer.alloc(0)
  }

  end(): Buffer {
    const rest = this.held
    this.held = ''
    return Buffer.from(rest ? this.lines(rest) : '', 'latin1')
  }

  private lines(s: string): string {
    if (!this.inKey && !s.includes('PRIVATE KEY')) return this.scrubber.latin1Line(s)
    // slow path: a private key block starts or continues in these lines
    const parts = s.split('\n')
    for (let i = 0; i < parts.length; i++) {
      const line = parts[i]
      if (this.inKey) {
        if (PEM_END.test(line)) {
          this.inKey = false
          parts[i] = line.slice(line.search(PEM_END))
        } else parts[i] = i === parts.length - 1 && line === '' ? '' : MASK
      } else if (PEM_BEGIN.test(line)) {
        const m = PEM_BEGIN.exec(line)!
        const after = line.slice(m.index + m[0].length)
        if (PEM_END.test(after)) parts[i] = line.slice(0, m.index + m[0].length) + MASK + after.slice(after.search(PEM_END))
        else {
          this.inKey = true
          parts[i] = this.scrubber.latin1Line(line.slice(0, m.index)) + m[0]
        }
      } else parts[i] = this.scrubber.latin1Line(line)
    }
    return parts.join('\n')
  }
}

// flags whose next argument (or `=VALUE`) is a secret
const SECRET_FLAG =
  /^--?[A-Za-z0-9_.-]*(?:password|passwd|passphrase|pass|pwd|token|secret|api[-_]?key|apikey|access[-_]?key|secret[-_]?key|private[-_]?key|auth|credentials?|client[-_]?secret)$/i
// short flags that take a password in known tools: `-p V` / `-pV`
const TOOL_FLAGS: Record<string, { flag: string; attached: boolean; separate: boolean }> = {
  mysql: { flag: '-p', attached: true, separate: false }, // mysql -p VALUE prompts and takes VALUE as the database
  mysqldump: { flag: '-p', attached: true, separate: false },
  mysqladmin: { flag: '-p', attached: true, separate: false },
  mariadb: { flag: '-p', attached: true, separate: false },
  'mariadb-dump': { flag: '-p', attached: true, separate: false },
  sshpass: { flag: '-p', attached: true, separate: true },
  mongo: { flag: '-p', attached: true, separate: true },
  mongosh: { flag: '-p', attached: true, separate: true },
  mongodump: { flag: '-p', attached: true, separate: true },
  mongorestore: { flag: '-p', attached: true, separate: true },
  docker: { flag: '-p', attached: false, separate: true }, // docker login -p V
  podman: { flag: '-p', attached: false, separate: true },
  'redis-cli': { flag: '-a', attached: true, separate: true },
  psql: { flag: '-W', attached: false, separate: false }, // psql prompts; its passwords come in URLs (scrubbed by value)
}
const USER_PASS_FLAG = /^(?:-u|--user|--proxy-user)$/ // curl -u user:password

function toolOf(word: string): string {
  return word.slice(word.lastIndexOf('/') + 1)
}

/**
 * Redact an argument vector: secret flags (`--token V`, `--api-key=V`), known tools'
 * password flags (`mysql -pV`, `sshpass -p V`), `curl -u user:pw`, then every argument
 * by value (URL passwords, token shapes, the environment's secret values).
 *
 * @example
 * redactArgv(['train', '--token', 'abc123', 'https://u:pw@h/x'], new Scrubber()) // ['train', '--token', '***', 'https://u:***@h/x']
 */
export function redactArgv(argv: string[], scrubber: Scrubber): string[] {
  const out = [...argv]
  let tool = ''
  for (let i = 0; i < out.length; i++) {
    const a = out[i]
    if (!a.startsWith('-')) {
      const t = toolOf(a)
      if (TOOL_FLAGS[t] || !tool) tool = TOOL_FLAGS[t] ? t : tool
    }
    const eq = a.indexOf('=')
    if (a.startsWith('-') && eq > 0 && SECRET_FLAG.test(a.slice(0, eq))) out[i] = `${a.slice(0, eq)}=${MASK}`
    else if (SECRET_FLAG.test(a) && i + 1 < out.length && !out[i + 1].startsWith('-')) out[++i] = MASK
    else if (USER_PASS_FLAG.test(a) && i + 1 < out.length && out[i + 1].includes(':')) (out[i + 1] = out[i + 1].replace(/:.*/, `:${MASK}`)), i++
    else if (tool && TOOL_FLAGS[tool]) {
      const f = TOOL_FLAGS[tool]
      if (f.separate && a === f.flag && i + 1 < out.length) out[++i] = MASK
      else if (f.attached && a.startsWith(f.flag) && a.length > f.flag.length && !a.startsWith('--')) out[i] = f.flag + MASK
    }
  }
  return out.map((a) => (a === MASK ? a : scrubber.text(a)))
}

function shellWords(line: string): { tokens: string[]; words: Array<{ i: number; raw: string; bare: string }> } {
  // words: quoted strings or runs of non-blanks; separators kept as they are
  const tokens = line.match(/'[^']*'|"(?:[^"\\]|\\.)*"|[^\s'"]+(?:'[^']*'|"(?:[^"\\]|\\.)*"|[^\s'"]+)*|\s+/g) ?? []
  const words: Array<{ i: number; raw: string; bare: string }> = []
  tokens.forEach((t, i) => {
    if (!/^\s+$/.test(t)) words.push({ i, raw: t, bare: t.replace(/^(['"])([\s\S]*)\1$/, '$2') })
  })
  return { tokens, words }
}

/** The values `redactCommandLine` hides in a shell line, to hunt them in the output too. */
export function commandLineSecrets(line: string): string[] {
  return argvSecrets(shellWords(line).words.map((w) => w.bare))
}

/**
 * Redact a command line given as one shell string (`command:` in xp.yaml, a recorded
 * display line): the same rules as `redactArgv` on its words, quotes kept.
 */
export function redactCommandLine(line: string, scrubber: Scrubber): string {
  const { tokens, words } = shellWords(line)
  const red = redactArgv(
    words.map((w) => w.bare),
    new Scrubber(),
  )
  words.forEach((w, k) => {
    if (red[k] !== w.bare) tokens[w.i] = red[k]
  })
  return scrubber.text(tokens.join(''))
}

/**
 * The values `redactArgv` hides, so that the command's output can be scrubbed of them
 * too (`--token T` is masked in the log wherever T appears).
 */
export function argvSecrets(argv: string[]): string[] {
  const red = redactArgv(argv, new Scrubber())
  const out: string[] = []
  argv.forEach((a, i) => {
    if (red[i] === a) return
    let pre = 0
    while (pre < a.length && pre < red[i].length && a[pre] === red[i][pre]) pre++
    let suf = 0
    while (suf < a.length - pre && suf < red[i].length - pre && a[a.length - 1 - suf] === red[i][red[i].length - 1 - suf]) suf++
    const v = a.slice(pre, a.length - suf)
    if (v.length >= 4) out.push(v)
  })
  return out
}

/** Does this argv carry a secret that `redactArgv` would hide? */
export function argvHasSecret(argv: string[], scrubber: Scrubber): boolean {
  const red = redactArgv(argv, scrubber)
  return red.some((a, i) => a !== argv[i])
}

/**
 * Mask the password of a URL for printing: `https://bob:pw@host/r.git` becomes
 * `https://bob:***@host/r.git`; also scrubs query parameters that look secret.
 */
export function maskUrl(url: string): string {
  return url
    .replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/, `$1${MASK}@`)
    .replace(/([?&](?:[A-Za-z0-9_-]*(?:token|key|secret|password|signature|sig|credential)[A-Za-z0-9_-]*)=)[^&#\s]+/gi, `$1${MASK}`)
}
