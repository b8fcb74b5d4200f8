import type { Argv } from 'yargs'
export const builder = (y: Argv) => y
export async function handler() {}
