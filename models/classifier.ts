// What the pipeline needs from a sentiment model, whatever model it is: batch in, one result per
// text out, in the same order. Intents are added by the classify transform, which also knows the
// brands a post mentions; a model that reads some intents itself says so in `cues`.
import type { Sentiment } from '../pipelines/schema.ts'
import type { ReadLanguages } from '../pipelines/transforms/language.ts'

/** The intents a model reads from the text (models/middle-classifier.ts); without them, rules do. */
export interface Cues {
  suggestion: boolean
  question: boolean
  comparison: boolean
}

/** Without intents (the classify transform adds them); without emotions where the model reads none. */
export type ModelSentiment = Omit<Sentiment, 'intents' | 'emotions'> & { emotions?: Sentiment['emotions']; cues?: Cues }

export interface Classifier {
  /** Shown in logs and /healthz. */
  readonly name: string
  /**
   * The languages it reads (SCORED_LANGUAGES): a post whose text is in another is not given to it
   * and goes on unscored (transforms/classify.ts). English when not said.
   */
  languages?: ReadLanguages
  classify(texts: readonly string[]): Promise<ModelSentiment[]>
}
