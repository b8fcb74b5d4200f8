/**
 * The yaml library, loaded on first use. It is 170 KB of JavaScript and every command
 * finds its repository through code that may parse YAML; loaded here once, on demand,
 * the commands that parse none (show, model ls, queue status...) never pay for it.
 *
 * @example
 * yaml().parse('lr: 0.1') // { lr: 0.1 }
 */
import { createRequire } from 'node:module'
import type * as YAML from 'yaml'

let yamlModule: typeof YAML | undefined

export function yaml(): typeof YAML {
  return (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof YAML)
}
