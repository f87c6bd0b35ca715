// The three stages (stages/) and what they are given, declared once for both placements: all of
// them in one process (pipeline.ts), or each in its own process around the bus (bus/roles.ts),
// where a stage's input and output are the bus's source and sink instead of the next stage.
//   relate:  source events -> related events        (in arrival order; holds the recent posts)
//   score:   related events -> stored posts, updates (any order, any number of workers)
//   live:    stored posts, updates -> the live feeds (in arrival order)
import type { Observable, OperatorFunction } from 'rxjs'
import { Subject } from 'rxjs'
import type { Classifier } from '../models/classifier.ts'
import type { Policies, Progress, RelatedEvent, Seeds, Spools, StageBasics } from './contract.ts'
import type { SourceEvent } from './schema.ts'
import { type RelateCounts, Relater, relateEvents } from './stages/relate-events.ts'
import { type StoreCounts, storeEvents } from './stages/store-events.ts'
import { ClassifyMeter } from './transforms/classify.ts'
import { RecentPosts } from './transforms/relate.ts'

/** The first stage: its memory of recent posts (seeded), and the operator that relates events. */
export function relateStage(
  deps: Pick<StageBasics, 'tracking' | 'deadLetter'> & Pick<Seeds, 'recentPosts'>,
  counts: RelateCounts,
): { recent: RecentPosts; relate: OperatorFunction<SourceEvent, RelatedEvent> } {
  const recent = new RecentPosts()
  for (const post of deps.recentPosts ?? []) recent.add(post)
  return { recent, relate: relateEvents(new Relater(deps.tracking, recent, deps.deadLetter, counts)) }
}

/** What the second stage is given besides the basics. */
export interface ScoreDeps extends StageBasics {
  classifier: Classifier
  replies?: Policies['replies']
  spools?: Spools
  /** Told of each batch the classifier scored: how long it took, and how many posts. */
  onClassified?: (ms: number, posts: number) => void
}

/**
 * The second stage over `related$` (hot), with its classifier's meter. `edges`: who is told of
 * each event's progress (the journal, a bus worker's settlement), who remembers each mention's
 * needs (the one process's recent posts), and whether other workers write the same store.
 */
export function scoreStage(
  related$: Observable<RelatedEvent>,
  deps: ScoreDeps,
  counts: StoreCounts,
  edges: { progress?: Progress; remember?: (id: string, needsReply: string[]) => void; sharedWriters?: boolean } = {},
) {
  const meter = new ClassifyMeter(deps.onClassified)
  const { tracking, store, deadLetter, classifier, replies, spools, drainOnStopMs, scheduler } = deps
  const streams = storeEvents(related$, {
    tracking,
    store,
    deadLetter,
    classifier,
    counts,
    meter,
    ...(replies ? { replies } : {}),
    ...(spools ? { spools } : {}),
    ...(drainOnStopMs !== undefined ? { drainOnStopMs } : {}),
    ...(scheduler ? { scheduler } : {}),
    ...(edges.progress ? { progress: edges.progress } : {}),
    ...(edges.remember ? { remember: edges.remember } : {}),
    ...(edges.sharedWriters ? { sharedWriters: true } : {}),
  })
  return { ...streams, meter }
}

/** A stop signal for a placement's inputs: `stop()` fires it once, then waits for `done`. */
export function stopSignal(): { stop$: Observable<void>; stop(done: Promise<void>): Promise<void> } {
  const stop$ = new Subject<void>()
  return {
    stop$,
    stop(done) {
      stop$.next()
      stop$.complete()
      return done
    },
  }
}
