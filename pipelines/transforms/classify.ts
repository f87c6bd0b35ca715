// classify: posts are scored in batches (the model is much faster per post in a batch), then each
// post gets its sentiment and intents. A post in a language the classifier does not read (its
// language told from its text, models/language.ts) skips the model and goes on unscored. A
// batch the model fails on is dead-lettered whole, with the model's error, and the stream goes on;
// but when the failure is the classifier's and not the posts' (its thread stopped), the batch is
// given back, to be classified again later.
import {
  asyncScheduler,
  bufferTime,
  catchError,
  concatMap,
  EMPTY,
  filter,
  finalize,
  from,
  mergeMap,
  type OperatorFunction,
  type SchedulerLike,
  tap,
} from 'rxjs'
import type { Classifier, ModelSentiment, Reading, Text } from '../../models/classifier.ts'
import { readTexts } from '../../models/read.ts'
import { detectIntents } from '../../models/middle.ts'
import type { Intent, Post, ScoredPost } from '../schema.ts'
import type { MentionContext } from './relate.ts'
import type { DeadLetter } from '../sinks/deadletter.ts'

/** Longest a post waits for its batch to fill, and the largest batch. */
export const CLASSIFY_BATCH_MS = 50
export const CLASSIFY_BATCH_MAX = 256

/** A post with what the model read in it; unscored without `model` (a language not read). */
export function scoreOne(post: Post, model: ModelSentiment | undefined, language: string): ScoredPost {
  if (!model) return { ...post, language }
  const { cues, emotions = [], ...sentiment } = model
  return {
    ...post,
    language,
    sentiment: {
      ...sentiment,
      intents: detectIntents(post.text, model.label, post.brands.length >= 2, cues),
      emotions,
    },
  }
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

export function classify(
  classifier: Classifier,
  deadLetter: DeadLetter,
  scheduler: SchedulerLike = asyncScheduler,
  meter = new ClassifyMeter(),
): OperatorFunction<Post, ScoredPost> {
  return classifyEach(
    classifier,
    deadLetter,
    scheduler,
    meter,
    (post) => [{ text: post.text, declared: post.lang }],
    (post, [read]) => scoreOne(post, read!.model, read!.language),
    (post) => post,
  )
}

/** A post on its way to the store, with what its triage needs of the mention it answers, if any (transforms/relate.ts). */
export interface PostInContext {
  post: Post
  mention?: MentionContext
}

/** Scored, with the intents of the mention it answers when only its text was known. */
export interface ScoredInContext {
  post: ScoredPost
  mention?: MentionContext
  mentionIntents?: Intent[]
}

/** Told of each post of a batch that failed for a reason of the classifier's own: whoever holds it tries again later. */
export type GiveBack = (post: Post, reason: string) => void

/** Whether a failed batch failed because of the classifier (its thread is not there), not of its posts. */
export const classifierDown = (classifier: Classifier, error: unknown): boolean =>
  (classifier as { ready?: boolean }).ready === false ||
  /the classifier's thread|the classifier is closed/.test(String(error))

/** Scores each post, and in the same batch the text of the mention it answers where that is what decides. */
export function classifyInContext(
  classifier: Classifier,
  deadLetter: DeadLetter,
  scheduler: SchedulerLike = asyncScheduler,
  meter = new ClassifyMeter(),
  giveBack?: GiveBack,
): OperatorFunction<PostInContext, ScoredInContext> {
  const mentionText = (item: PostInContext) => (item.mention?.needsReply === undefined ? item.mention?.text : undefined)
  return classifyEach(
    classifier,
    deadLetter,
    scheduler,
    meter,
    (item) => {
      const text = mentionText(item)
      // The mention's own tag is not known here: its text alone tells.
      return text === undefined
        ? [{ text: item.post.text, declared: item.post.lang }]
        : [
            { text: item.post.text, declared: item.post.lang },
            { text, declared: '' },
          ]
    },
    (item, [read, mention]) => ({
      post: scoreOne(item.post, read!.model, read!.language),
      ...(item.mention ? { mention: item.mention } : {}),
      // A mention in a language not read has no intents: it is taken as asking for nothing.
      ...(mention
        ? {
            mentionIntents: mention.model
              ? detectIntents(
                  mentionText(item)!,
                  mention.model.label,
                  (item.mention?.brands?.length ?? 0) >= 2,
                  mention.model.cues,
                )
              : [],
          }
        : {}),
    }),
    (item) => item.post,
    giveBack && ((item, reason) => giveBack(item.post, reason)),
  )
}

/**
 * Batches items, scores the texts of each (one or more, those in a language read) in one call, and
 * makes each item's result from its texts' readings. A failed batch dead-letters each item's `payload`.
 */
function classifyEach<T, U>(
  classifier: Classifier,
  deadLetter: DeadLetter,
  scheduler: SchedulerLike,
  meter: ClassifyMeter,
  texts: (item: T) => Text[],
  score: (item: T, readings: Reading[]) => U,
  payload: (item: T) => unknown,
  giveBack?: (item: T, reason: string) => void,
): OperatorFunction<T, U> {
  return (items$) =>
    items$.pipe(
      tap(() => meter.queued++),
      bufferTime(CLASSIFY_BATCH_MS, null, CLASSIFY_BATCH_MAX, scheduler),
      filter((batch) => batch.length > 0),
      concatMap((batch) => {
        const started = performance.now()
        const each = batch.map(texts)
        const all = each.flat()
        return from(readTexts(classifier, all)).pipe(
          mergeMap((readings) => {
            if (readings.length !== all.length)
              throw new Error(`${classifier.name} returned ${readings.length} readings for ${all.length} texts`)
            // Only batches scored are timed: a failure that comes at once would flatter the figures.
            if (readings.some((r) => r.model)) meter.onBatch(performance.now() - started, batch.length)
            let at = 0
            return batch.map((item, i) => {
              const mine = readings.slice(at, at + each[i]!.length)
              at += each[i]!.length
              return score(item, mine)
            })
          }),
          catchError((error: unknown) => {
            const reason = `${classifier.name}: ${String(error)}`
            if (giveBack && classifierDown(classifier, error)) for (const item of batch) giveBack(item, reason)
            else for (const item of batch) deadLetter.record('classify', reason, payload(item))
            return EMPTY
          }),
          finalize(() => (meter.queued -= batch.length)),
        )
      }),
    )
}
