/**
 * The values xp records for params and metrics, in a module of their own with no I/O, so
 * the browser code (src/ui/app) can use the types without Node's.
 */
export type Scalar = number | string | boolean | null
export type Flat = Record<string, Scalar>
