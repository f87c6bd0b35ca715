// Time, once: durations in epoch milliseconds unless a name says seconds (the store's DateTime
// columns count seconds). Imports nothing, so the wall bundles it too.

export const MINUTE_MS = 60_000
export const HOUR_MS = 60 * MINUTE_MS
export const DAY_MS = 24 * HOUR_MS

/** The start of the minute a time falls in, epoch ms (before 1970 too). */
export function minuteStartMs(ms: number): number {
  return ms - (((ms % MINUTE_MS) + MINUTE_MS) % MINUTE_MS)
}

/** The start of the minute an ISO 8601 time falls in, epoch ms. */
export const minuteOfIso = (iso: string): number => minuteStartMs(Date.parse(iso))

/** The start of the minute a time (epoch ms) falls in, in epoch seconds: the store's minute keys. */
export const minuteStartS = (ms: number): number => minuteStartMs(ms) / 1000
