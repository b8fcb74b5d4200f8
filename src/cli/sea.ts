// The single executable's script (scripts/build-binary.mjs): xp, run at once.
import { launch } from './bin.js'

launch()
