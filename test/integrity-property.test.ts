/**
 * Model-based integrity test (issue 10): random sequences of data commands and faults,
 * every invariant checked after each step (see integrity-model.ts). CI runs a fixed range
 * of seeds; `npm run soak` runs thousands (XP_SOAK_SEQUENCES, XP_SOAK_SEED).
 */
import { describe, it, expect } from 'vitest'
import { generate, runSequence, shrink, report, timings, drainCleanup } from './integrity-model.js'

const SEQUENCES = Number(process.env.XP_SOAK_SEQUENCES ?? 300)
const FIRST_SEED = Number(process.env.XP_SOAK_SEED ?? 1)
const LENGTH = Number(process.env.XP_SOAK_LENGTH ?? 14)
const BUDGET_MS = Number(process.env.XP_SOAK_BUDGET_MS ?? (process.env.XP_SOAK_SEQUENCES ? 0 : 45_000))

describe('data integrity under random sequences of commands and faults', () => {
  it(
    `holds every invariant for seeded sequences (up to ${SEQUENCES}${BUDGET_MS ? `, within ${BUDGET_MS / 1000} s` : ''})`,
    async () => {
      const t0 = Date.now()
      let ran = 0
      let steps = 0
      for (let seed = FIRST_SEED; seed < FIRST_SEED + SEQUENCES; seed++) {
        if (BUDGET_MS && Date.now() - t0 > BUDGET_MS) break
        const ops = generate(seed, { length: LENGTH, kill: seed % 4 === 0, damage: process.env.XP_SOAK_DAMAGE !== '0' })
        const out = await runSequence(ops)
        ran++
        steps += ops.length
        if (ran % 100 === 0) process.stderr.write(`integrity: ${ran} sequences, ${steps} steps, ${((Date.now() - t0) / 1000).toFixed(0)} s\n`)
        if (!out.ok) {
          const small = await shrink(ops, out)
          await drainCleanup()
          expect.fail(report(seed, small.ops, small.outcome))
        }
      }
      await drainCleanup()
      const s = (Date.now() - t0) / 1000
      if (process.env.XP_SOAK_PROFILE) process.stderr.write([...timings].map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}s`).join(', ') + '\n')
      process.stderr.write(`integrity: ${ran} sequences, ${steps} steps in ${s.toFixed(1)} s (${(steps / s).toFixed(0)} steps/s)\n`)
      // a soak runs as long as it takes; CI's budget keeps it near 45 s
    },
    process.env.XP_SOAK_SEQUENCES ? 24 * 3600_000 : 120_000,
  )
})
