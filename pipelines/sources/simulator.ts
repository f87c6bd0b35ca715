// The built-in "launch day" source: replays `generate` against the clock at `speed` simulated
// seconds per real second (Infinity: as fast as the pipeline takes it). The default stream of
// `npm start` and the fixture of most tests.
import { asyncScheduler, Observable, type SchedulerLike } from 'rxjs'
import type { SourceEvent } from '../schema.ts'
import { generate } from './simulator/generate.ts'
import type { Scenario } from './simulator/scenario.ts'

/** How often the paced source wakes up to emit what has come due. */
export const SIMULATOR_TICK_MS = 100
/** Most events emitted per wake-up, so a fast replay still yields to the event loop. */
export const SIMULATOR_MAX_PER_TICK = 500

export interface SimulatorOptions {
  scenario: Scenario
  seed: number
  /** Simulated seconds per real second; Infinity replays as fast as possible. */
  speed: number
  /** Stop after this many simulated seconds (default: run forever). */
  until?: number
  /** Simulated seconds already due at the start, replayed at once (a day that began earlier). */
  ahead?: number
  scheduler?: SchedulerLike
}

export function simulatorSource(options: SimulatorOptions): Observable<SourceEvent> {
  const { scenario, seed, speed, until = Infinity, ahead = 0, scheduler = asyncScheduler } = options
  return new Observable<SourceEvent>((subscriber) => {
    const events = generate(scenario, seed)
    let next = events.next().value
    const startedAt = scheduler.now()
    const paced = Number.isFinite(speed)
    const subscription = scheduler.schedule(function wake() {
      const due = paced ? ahead + ((scheduler.now() - startedAt) / 1000) * speed : Infinity
      for (let n = 0; n < SIMULATOR_MAX_PER_TICK && next.at <= due; n++) {
        if (next.at >= until) {
          subscriber.complete()
          return
        }
        subscriber.next(next.event)
        if (subscriber.closed) return
        next = events.next().value
      }
      this.schedule(undefined, paced ? SIMULATOR_TICK_MS : 0)
    })
    return () => subscription.unsubscribe()
  })
}
