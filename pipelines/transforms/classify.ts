// classify: posts are scored in batches (the model is much faster per post in a batch), then each
// post gets its sentiment and intents. A batch the model fails on is dead-lettered whole, with
// the model's error, and the stream goes on.
import { asyncScheduler, bufferTime, catchError, concatMap, EMPTY, filter, finalize, from, mergeMap, type OperatorFunction, type SchedulerLike, tap } from 'rxjs'
import type { Classifier, ModelSentiment } from '../../models/classifier.ts'
import { detectIntents } from '../../models/middle.ts'
import type { Post, ScoredPost } from '../schema.ts'
import type { DeadLetter } from '../sinks/deadletter.ts'

/** Longest a post waits for its batch to fill, and the largest batch. */
export const CLASSIFY_BATCH_MS = 50
export const CLASSIFY_BATCH_MAX = 256

export function scoreOne(post: Post, model: ModelSentiment): ScoredPost {
  return { ...post, sentiment: { ...model, intents: detectIntents(post.text, model.label, post.brands.length >= 2) } }
}

/** The classifier's queue and speed, for backpressure (transforms/admit.ts) and /metrics. */
export class ClassifyMeter {
  /** Posts waiting for the classifier, or in the batch it is scoring. */
  queued = 0
  constructor(
    /** Told of each batch scored: how long the model took, and how many posts. */
    readonly onBatch: (ms: number, posts: number) => void = () => {},
  ) {}
}

export function classify(classifier: Classifier, deadLetter: DeadLetter, scheduler: SchedulerLike = asyncScheduler, meter = new ClassifyMeter()): OperatorFunction<Post, ScoredPost> {
  return (posts$) =>
    posts$.pipe(
      tap(() => meter.queued++),
      bufferTime(CLASSIFY_BATCH_MS, null, CLASSIFY_BATCH_MAX, scheduler),
      filter((batch) => batch.length > 0),
      concatMap((batch) => {
        const started = performance.now()
        return from(classifier.classify(batch.map((p) => p.text))).pipe(
          mergeMap((results) => {
            if (results.length !== batch.length) throw new Error(`${classifier.name} returned ${results.length} results for ${batch.length} texts`)
            // Only batches scored are timed: a failure that comes at once would flatter the figures.
            meter.onBatch(performance.now() - started, batch.length)
            return batch.map((post, i) => scoreOne(post, results[i]!))
          }),
          catchError((error: unknown) => {
            for (const post of batch) deadLetter.record('classify', `${classifier.name}: ${String(error)}`, post)
            return EMPTY
          }),
          finalize(() => (meter.queued -= batch.length)),
        )
      }),
    )
}
