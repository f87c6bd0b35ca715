// What the pipeline needs from a sentiment model, whatever model it is: batch in, one result per
// text out, in the same order. Intents are added by the classify transform, which also knows the
// brands a post mentions. The lexicon classifier serves until the trained model lands (issue 3).
import type { Sentiment } from '../pipelines/schema.ts'

export type ModelSentiment = Omit<Sentiment, 'intents'>

export interface Classifier {
  /** Shown in logs and /healthz. */
  readonly name: string
  classify(texts: readonly string[]): Promise<ModelSentiment[]>
}
