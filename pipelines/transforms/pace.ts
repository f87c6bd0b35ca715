// Paces batches to at most one every `ms`, without holding one back when the last went out long
// enough ago: the walls' tickers get a store batch the moment it is accepted, and never more than
// a push per `ms` (a fixed bufferTime would add up to `ms` to every post's way to the wall).
import { asyncScheduler, Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs'

/** What to do with a batch that arrives at `now`: send at once, or wait `waitMs` for the next slot. */
export function paceOne(lastSentAt: number, now: number, ms: number): { send: true } | { send: false; waitMs: number } {
  const waitMs = lastSentAt + ms - now
  return waitMs <= 0 ? { send: true } : { send: false, waitMs }
}

/** Joins the batches that arrive while a slot is waited for; the last is sent before completing. */
export function pace<T>(ms: number, scheduler: SchedulerLike = asyncScheduler): OperatorFunction<readonly T[], T[]> {
  return (batches$) =>
    new Observable<T[]>((out) => {
      let held: T[] = []
      let lastSentAt = Number.NEGATIVE_INFINITY
      let timer: Subscription | undefined
      const send = () => {
        timer = undefined
        if (held.length === 0) return
        const batch = held
        held = []
        lastSentAt = scheduler.now()
        out.next(batch)
      }
      const upstream = batches$.subscribe({
        next: (batch) => {
          if (batch.length === 0) return
          held = held.length === 0 ? [...batch] : held.concat(batch)
          if (timer) return
          const due = paceOne(lastSentAt, scheduler.now(), ms)
          if (due.send) send()
          else timer = scheduler.schedule(send, due.waitMs)
        },
        error: (error: unknown) => out.error(error),
        complete: () => {
          timer?.unsubscribe()
          send()
          out.complete()
        },
      })
      return () => {
        timer?.unsubscribe()
        upstream.unsubscribe()
      }
    })
}
