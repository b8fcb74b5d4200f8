/**
 * MLflow's error codes on xp's one error class: the code says what xp means, `data.mlflow`
 * what an MLflow client branches on (the HTTP adapter turns it into `{error_code, message}`
 * and the status the real server gives).
 */
import { XpError } from '../errors.js'

export type MlflowCode =
  | 'RESOURCE_DOES_NOT_EXIST'
  | 'RESOURCE_ALREADY_EXISTS'
  | 'INVALID_PARAMETER_VALUE'
  | 'INTERNAL_ERROR'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'

export const MLFLOW_STATUS: Record<MlflowCode, number> = {
  RESOURCE_DOES_NOT_EXIST: 404,
  RESOURCE_ALREADY_EXISTS: 400,
  INVALID_PARAMETER_VALUE: 400,
  INTERNAL_ERROR: 500,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
}

export const notFound = (message: string) => new XpError('XP_MLFLOW_NOT_FOUND', message, { data: { mlflow: 'RESOURCE_DOES_NOT_EXIST' } })
export const exists = (message: string) => new XpError('XP_MLFLOW_EXISTS', message, { data: { mlflow: 'RESOURCE_ALREADY_EXISTS' } })
export const badParam = (message: string) => new XpError('XP_MLFLOW_BAD_PARAMETER', message, { data: { mlflow: 'INVALID_PARAMETER_VALUE' } })

/** The MLflow code for any error: xp's own codes map onto the nearest. */
export function mlflowCode(e: unknown): MlflowCode {
  if (e instanceof XpError) {
    const m = e.data?.mlflow
    if (typeof m === 'string' && m in MLFLOW_STATUS) return m as MlflowCode
    if (/NOT_FOUND|_EMPTY$|NOT_IN_STAGE|CACHE_MISSING/.test(e.code)) return 'RESOURCE_DOES_NOT_EXIST'
    if (/EXISTS|ALREADY/.test(e.code)) return 'RESOURCE_ALREADY_EXISTS'
    if (e.exitCode === 2 || /^XP_BAD_|UNSAFE|INVALID|AMBIGUOUS|FILTER/.test(e.code)) return 'INVALID_PARAMETER_VALUE'
  }
  return 'INTERNAL_ERROR'
}
