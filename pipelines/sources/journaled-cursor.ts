// A live source's cursor, saved only once the events read before it are on disk in the intake
// journal (sinks/journal.ts): after a crash, every event before the saved cursor is in the journal
// (and so stored after the restart), never only in the memory of the process that died.
//
// A failure is sticky: once a journal write failed or an event was refused (full journal), no
// cursor is saved (the events before it may be lost) until the source has gone back to its saved
// cursor and reads again from there. `rewinding` does that: it pauses the source (unsubscribes,
// which closes its connection), waits while the journal has no room, and subscribes again (the
// source loads its saved cursor).
import { asyncScheduler, Observable, type SchedulerLike, type Subscription } from 'rxjs'
import { CursorFile } from './cursor-file.ts'

/** Pauses of a source that went back to its cursor: doubled while the journal still has no room. */
export const REWIND_BACKOFF = { initialMs: 1_000, maxMs: 30_000 }

/** What the cursor needs of the journal. */
export interface CursorJournal {
  /** Resolves once every event appended so far is on disk; rejects when its write failed. */
  durable(): Promise<void>
  /** Failed writes and refused events so far. */
  failures(): number
}

export class JournaledCursorFile<T extends object> extends CursorFile<T> {
  private saving: Promise<void> = Promise.resolve()
  /** The journal's failures when the source last read from the saved cursor; undefined once it must go back. */
  private trusted: number | undefined
  /** Why the last save did not happen (the journal's write failed, or the cursor's own). */
  lastError: string | undefined

  constructor(
    path: string,
    private readonly journal: CursorJournal,
    /** The dead-letter records' flush: what the source refused before the cursor is on disk before it is passed. */
    private readonly recorded: () => Promise<void> | undefined = () => undefined,
  ) {
    super(path)
    this.trusted = journal.failures()
  }

  /** The source reads from the saved cursor (again): saves are trusted from here. */
  override load(isCursor: (value: unknown) => value is T): T | undefined {
    this.trusted = this.journal.failures()
    return super.load(isCursor)
  }

  /** Whether an event read since the saved cursor may not be in the journal: the source must go back. */
  get stale(): boolean {
    return this.trusted === undefined || this.journal.failures() !== this.trusted
  }

  /** Something read since the saved cursor was not kept (dropped while paused): no save until the source goes back. */
  rewind(): void {
    this.trusted = undefined
  }

  /** Saved once what came before it is durable, in the order asked; never across a failure. */
  override save(cursor: T): void {
    // Checked when asked: a failure after this moment is of later events (a write failing before
    // them rejects this save's durable() too).
    if (this.stale) {
      this.lastError =
        'the cursor was not saved: an event since the saved one was not kept in the intake journal (the source reads again from the saved cursor)'
      return
    }
    const durable = Promise.all([this.journal.durable(), this.recorded()])
    // Handled now: the chain below looks at it only once the saves before it are done, and a
    // rejection in between would be unhandled (and end the process).
    durable.catch(() => {})
    this.saving = this.saving
      .then(() => durable)
      .then(() => super.save(cursor))
      .catch((error: unknown) => {
        this.lastError = `the cursor was not saved: ${error instanceof Error ? error.message : String(error)}`
      })
  }

  /** Resolves once every save asked for so far is done (or given up). */
  saved(): Promise<void> {
    return this.saving
  }
}

/**
 * A live source that goes back to its saved cursor whenever an event it read may be lost (the
 * cursor is stale), and pauses while the journal has no room: an event that would not fit is not
 * passed on but read again later, from the cursor. Resubscribing is what sends it back: each
 * subscription loads the saved cursor.
 */
export function rewinding<T>(
  source$: Observable<T>,
  cursor: Pick<JournaledCursorFile<object>, 'stale' | 'rewind'>,
  room: () => boolean,
  options: {
    backoff?: { initialMs: number; maxMs: number }
    scheduler?: SchedulerLike
    onPause?: (why: string) => void
    resumable?: () => boolean
  } = {},
): Observable<T> {
  // Resumed with more room than it paused at (`resumable`): what it reads again from its cursor
  // must fit before its next save, or it would pause again at the same place.
  const { backoff = REWIND_BACKOFF, scheduler = asyncScheduler, resumable = room } = options
  return new Observable<T>((subscriber) => {
    let inner: Subscription | undefined
    let paused = false
    let delay = backoff.initialMs
    let resume: Subscription | undefined
    const pause = (why: string) => {
      paused = true
      cursor.rewind()
      options.onPause?.(why)
      inner?.unsubscribe()
      inner = undefined
      resume = scheduler.schedule(start, delay)
    }
    const start = () => {
      if (!resumable()) {
        delay = Math.min(backoff.maxMs, delay * 2)
        resume = scheduler.schedule(start, delay)
        return
      }
      paused = false
      const subscription = source$.subscribe({
        next(value) {
          if (paused) return
          if (!room()) return pause('the intake journal has no room')
          subscriber.next(value)
          if (cursor.stale) pause('an event was not kept in the intake journal')
          else delay = backoff.initialMs
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      })
      // Paused while it subscribed (a source that emits at once): let go now.
      if (paused) subscription.unsubscribe()
      else inner = subscription
    }
    start()
    return () => {
      resume?.unsubscribe()
      inner?.unsubscribe()
    }
  })
}
