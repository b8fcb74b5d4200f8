/// <reference lib="dom" />
/**
 * Follow a live run on its page: every 1.5 s while the page shows it, its curves and log
 * tail are read again (the server reads the files the run is writing); once it is recorded
 * (or lost) the page is drawn again from the record.
 */
import { api } from './api.js'
import type { RunSeries } from '../series.js'

export const LIVE_POLL_MS = 1500

export function followLive(root: HTMLElement, id: string, onSeries: (s: RunSeries) => void, onLog: (text: string) => void): void {
  let busy = false
  const timer = setInterval(async () => {
    if (!root.isConnected) return clearInterval(timer)
    if (busy) return
    busy = true
    try {
      const run = await api.run(id)
      // recorded (it has a commit now) or lost: the live view is over
      if (run.commit || run.status === 'lost') {
        clearInterval(timer)
        // recorded or lost: draw the page again from what is there now
        if (root.isConnected) window.dispatchEvent(new HashChangeEvent('hashchange'))
        return
      }
      const [s, log] = await Promise.all([api.series(id), api.log(id)])
      if (!root.isConnected) return
      onSeries(s)
      onLog(log)
      root.dataset.polls = String(Number(root.dataset.polls ?? 0) + 1)
    } catch {
      // the server is restarting: try again at the next tick
    } finally {
      busy = false
    }
  }, LIVE_POLL_MS)
}
