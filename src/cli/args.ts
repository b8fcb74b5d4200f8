import type { Argv } from 'yargs'

/**
 * The arguments a command's handler receives, as its builder declares them: the handler's
 * type comes from the option definitions, so the two cannot drift apart (a handler reading
 * an option its builder never declared fails the typecheck).
 *
 * @example
 * export const builder = (y: Argv) => y.option('json', { type: 'boolean' })
 * export async function handler(argv: ArgsOf<typeof builder>) { argv.json } // boolean | undefined
 */
// biome-ignore lint/suspicious/noExplicitAny: yargs' own builder type is Argv<any>
export type ArgsOf<B extends (y: Argv) => Argv<any>> = B extends (y: Argv) => Argv<infer T> ? T & { _: (string | number)[]; '--'?: string[] } : never
