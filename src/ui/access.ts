/**
 * The one gate every request to `xp ui` passes before any route (docs/ui.md, "Off
 * loopback"): the Host header must name an allowed host (DNS rebinding), and off loopback
 * every request, reads included, must carry the access token: `Authorization: Bearer T`,
 * or the `xp_token` cookie that a visit to `/?token=T` sets.
 */
import type http from 'node:http'
import os from 'node:os'
import { timingSafeEqual } from 'node:crypto'
import { mlflowAuthorized } from './mlflow-auth.js'
import type { ErrorCode } from '../core/error-codes.js'

export const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])
const COOKIE = 'xp_token'

export interface AccessPolicy {
  /** the address the server is bound to */
  bind: string
  /** extra names the Host header may carry (`--allow-host`) */
  allowHosts: string[]
  /** required on every request when the server is bound off loopback */
  token: string
}

export type GateResult = { ok: true } | { ok: false; status: number; code: ErrorCode; message: string } | { ok: false; redirect: string; cookie: string }

export const isLoopback = (host: string) => LOOPBACK.has(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host)

function hostName(hostHeader: string): string {
  const m = /^(\[[^\]]*\]|[^:]*)(?::\d+)?$/.exec(hostHeader)
  return (m?.[1] ?? '').toLowerCase()
}

/** The Host names a request may carry: loopback names, the bound address, every local address when bound to all, and `--allow-host`. */
export function allowedHosts(policy: Pick<AccessPolicy, 'bind' | 'allowHosts'>): Set<string> {
  const out = new Set<string>(LOOPBACK)
  const bind = policy.bind.toLowerCase()
  if (bind === '0.0.0.0' || bind === '::' || bind === '[::]') {
    // an IP address in Host cannot be a rebinding attack (that needs a name the attacker resolves)
    for (const list of Object.values(os.networkInterfaces()))
      for (const a of list ?? []) out.add(a.family === 'IPv6' ? `[${a.address.toLowerCase()}]` : a.address)
  } else out.add(bind.includes(':') && !bind.startsWith('[') ? `[${bind}]` : bind)
  for (const h of policy.allowHosts) out.add(h.toLowerCase())
  return out
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

function cookieToken(header: string | undefined): string {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=')
    if (k === COOKIE) return v.join('=')
  }
  return ''
}

/**
 * Decide whether a request may reach a route. A `?token=T` visit with the right token is
 * answered by a redirect that sets the cookie and drops the token from the address bar.
 *
 * @example
 * const gate = accessGate({ bind: '0.0.0.0', allowHosts: ['box.lan'], token })
 * const r = gate(req) // { ok: true } or a refusal to send
 */
export function accessGate(policy: AccessPolicy): (req: http.IncomingMessage) => GateResult {
  const hosts = allowedHosts(policy)
  const needToken = !isLoopback(policy.bind)
  return (req) => {
    const host = hostName(String(req.headers.host ?? ''))
    if (!hosts.has(host))
      return {
        ok: false,
        status: 421,
        code: 'XP_FORBIDDEN',
        message: `unexpected Host header ${JSON.stringify(host)}; start xp ui with --allow-host ${host || 'NAME'} to allow it`,
      }
    if (!needToken) return { ok: true }
    const auth = String(req.headers.authorization ?? '')
    // Bearer TOKEN, or basic auth with the token as password (MLflow's clients: mlflow-auth.ts)
    if (mlflowAuthorized(auth, policy.token)) return { ok: true }
    if (same(cookieToken(req.headers.cookie), policy.token)) return { ok: true }
    const url = new URL(req.url ?? '/', 'http://x')
    const q = url.searchParams.get('token')
    if (q !== null && same(q, policy.token) && (req.method === 'GET' || req.method === 'HEAD')) {
      url.searchParams.delete('token')
      return { ok: false, redirect: url.pathname + url.search, cookie: `${COOKIE}=${policy.token}; Path=/; HttpOnly; SameSite=Strict` }
    }
    return {
      ok: false,
      status: 401,
      code: 'XP_UNAUTHORIZED',
      message: 'this xp ui is reachable from the network and needs its access token: open the URL it printed (?token=...) or send Authorization: Bearer TOKEN',
    }
  }
}
