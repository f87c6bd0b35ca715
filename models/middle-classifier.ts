// The multi-task middle model (models/middle-model.ts) as the pipeline's classifier: one pass
// gives the calibrated sentiment, `mixed`, and the cues for the intents a model reads better than
// rules (suggestion, question, comparison: scripts/eval-middle.ts measures both). `uncertain` is
// the same entropy rule as for any model; the probabilities are calibrated, so it means what it says.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Emotion } from '../pipelines/schema.ts'
import type { Classifier, ModelSentiment } from './classifier.ts'
import { emojiPolarity, withEmoji } from './emoji.ts'
import { labelOf, normalisedEntropy, type Scores, UNCERTAIN_ENTROPY } from './middle.ts'
import { EMOTIONS, MiddleModel, type MiddleScores } from './middle-model.ts'

/**
 * The emotion head says which of the four a post expresses *if* it expresses one (its training
 * tweets all do). The chance that it expresses one is taken as 1 - P(neutral), so an emotion is
 * read where (1 - P(neutral)) x P(emotion) reaches this. Chosen on one half of the SemEval-2018
 * E-c dev split against how often neutral tweets get an emotion (models/training/EXPERIMENTS.md).
 */
export const EMOTION_THRESHOLD = 0.35

/** The emotions a post expresses, strongest first: none, one or several. */
export function emotionsOf(emotion: Record<Emotion, number>, sentiment: Scores): Emotion[] {
  const expressed = 1 - sentiment.neutral
  return EMOTIONS.filter((e) => expressed * emotion[e] >= EMOTION_THRESHOLD).sort((a, b) => emotion[b] - emotion[a])
}

/** Whether `folder` holds a multi-task middle model (its config.json names the flags' thresholds). */
export function isMiddleModel(folder: string): boolean {
  const config = join(folder, 'config.json')
  if (!existsSync(config)) return false
  try {
    return (
      typeof (JSON.parse(readFileSync(config, 'utf8')) as { undertow?: { thresholds?: unknown } }).undertow
        ?.thresholds === 'object'
    )
  } catch {
    return false
  }
}

/**
 * What the pipeline takes from one post's scores. Emojis are not in the model's vocabulary, so the
 * same emoji shift as for any model applies on top (docs/sentiment.md), and rated emojis of both
 * signs make a post mixed.
 */
export function sentimentOf(scores: MiddleScores, text = ''): ModelSentiment {
  const emoji = emojiPolarity(text)
  const shifted = withEmoji(scores.sentiment, emoji.positive + emoji.negative)
  const label = labelOf(shifted)
  return {
    label,
    scores: shifted,
    confidence: shifted[label],
    mixed: scores.flags.mixed || (emoji.positive > 0 && emoji.negative < 0),
    uncertain: normalisedEntropy(shifted) > UNCERTAIN_ENTROPY,
    emotions: emotionsOf(scores.emotion, shifted),
    cues: { suggestion: scores.flags.suggestion, question: scores.flags.question, comparison: scores.flags.comparison },
  }
}

export class MiddleClassifier implements Classifier {
  private constructor(private readonly model: MiddleModel) {}

  get name(): string {
    return this.model.name
  }

  static async load(folder: string, options: { threads?: number } = {}): Promise<MiddleClassifier> {
    return new MiddleClassifier(await MiddleModel.load(folder, options))
  }

  async classify(texts: readonly string[]): Promise<ModelSentiment[]> {
    return (await this.model.score(texts)).map((scores, i) => sentimentOf(scores, texts[i]))
  }

  close(): Promise<void> {
    return this.model.close()
  }
}
