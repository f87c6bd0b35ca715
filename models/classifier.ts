// What the pipeline needs from a sentiment model, whatever model it is: batch in, one result per
// text out, in the same order. Intents are added by the classify transform, which also knows the
// brands a post mentions; a model that reads some intents itself says so in `cues`.
import type { Sentiment } from '../pipelines/schema.ts'
import type { ReadLanguages } from './language.ts'

/** The intents a model reads from the text (models/middle-classifier.ts); without them, rules do. */
export interface Cues {
  suggestion: boolean
  question: boolean
  comparison: boolean
}

/** Without intents (the classify transform adds them); without emotions where the model reads none. */
export type ModelSentiment = Omit<Sentiment, 'intents' | 'emotions'> & { emotions?: Sentiment['emotions']; cues?: Cues }

/** One text to read, with the network's language tag for it ('' when none). */
export interface Text {
  text: string
  declared: string
}

/** What came of one text: its language, and the model's reading unless the language is not read. */
export interface Reading {
  language: string
  model?: ModelSentiment
}

export interface Classifier {
  /** Shown in logs and /healthz. */
  readonly name: string
  /**
   * The languages it reads (SCORED_LANGUAGES): a post whose text is in another is not given to it
   * and goes on unscored (transforms/classify.ts). English when not said.
   */
  languages?: ReadLanguages
  classify(texts: readonly string[]): Promise<ModelSentiment[]>
  /**
   * Each text's language, and the model's reading of those it reads (models/read.ts). A classifier
   * on a thread of its own does it there, off the thread that serves the walls.
   */
  read?(texts: readonly Text[]): Promise<Reading[]>
}
