/**
 * The Authorization forms MLflow's clients send, for `xp ui`'s access gate (access.ts):
 * a client off loopback sets MLFLOW_TRACKING_TOKEN (Bearer) or MLFLOW_TRACKING_USERNAME
 * and MLFLOW_TRACKING_PASSWORD (basic auth). Kept free of imports so the gate stays light.
 */
import { timingSafeEqual } from 'node:crypto'

/**
 * Does this `Authorization` header carry the token, in a form MLflow's clients send?
 * `Bearer TOKEN` (MLFLOW_TRACKING_TOKEN) or `Basic base64(USER:TOKEN)`
 * (MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD; any user name).
 *
 * @example
 * mlflowAuthorized('Bearer s3cret', 's3cret') // true
 */
export function mlflowAuthorized(header: string | undefined, token: string): boolean {
  if (!header || !token) return false
  let given = ''
  const m = /^\s*(bearer|basic)\s+(\S+)\s*$/i.exec(header)
  if (!m) return false
  if (m[1].toLowerCase() === 'bearer') given = m[2]
  else {
    const text = Buffer.from(m[2], 'base64').toString('utf8')
    const colon = text.indexOf(':')
    if (colon < 0) return false
    given = text.slice(colon + 1)
  }
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}
