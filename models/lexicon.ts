// Interim classifier: the VADER lexicon (vader-sentiment). Fast and dependency-free, but a lexicon,
// not a model: the trained transformers.js model replaces it as the default (issue 3).
import vader from 'vader-sentiment'
import type { Classifier, ModelSentiment } from './classifier.ts'
import { labelOf, MIXED_SHARE, normalisedEntropy, UNCERTAIN_ENTROPY, type Scores } from './middle.ts'

/** VADER's own decision threshold on the compound score. */
export const COMPOUND_THRESHOLD = 0.05
/** Softmax sharpness: how fast probability leaves neutral as |compound| grows past the threshold. */
export const SHARPNESS = 6

/**
 * Turns VADER's compound score (-1..1) into three probabilities whose argmax agrees with VADER's
 * documented thresholds (|compound| < 0.05 is neutral) and whose spread says how far from the
 * threshold the text is.
 */
export function scoresFromCompound(compound: number): Scores {
  const zPos = SHARPNESS * (compound - COMPOUND_THRESHOLD)
  const zNeg = SHARPNESS * (-compound - COMPOUND_THRESHOLD)
  const ePos = Math.exp(zPos)
  const eNeg = Math.exp(zNeg)
  const sum = ePos + eNeg + 1
  return { negative: eNeg / sum, neutral: 1 / sum, positive: ePos / sum }
}

export function scoreText(text: string): ModelSentiment {
  const polarity = vader.SentimentIntensityAnalyzer.polarity_scores(text)
  const scores = scoresFromCompound(polarity.compound)
  const label = labelOf(scores)
  return {
    label,
    scores,
    confidence: scores[label],
    mixed: polarity.pos >= MIXED_SHARE && polarity.neg >= MIXED_SHARE,
    uncertain: normalisedEntropy(scores) > UNCERTAIN_ENTROPY,
  }
}

export class LexiconClassifier implements Classifier {
  readonly name = 'vader-lexicon'
  async classify(texts: readonly string[]): Promise<ModelSentiment[]> {
    return texts.map(scoreText)
  }
}
