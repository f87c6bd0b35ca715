// Emojis carry much of the sentiment of social text, and the training tweets had theirs stripped:
// the model has never seen one. Their valence comes from a lexicon (emoji-emotion, ratings from
// -5 to +5) and shifts the model's probabilities towards positive or negative.
import { emojiEmotion } from 'emoji-emotion'
import type { Scores } from './middle.ts'

/** Logit shift per point of summed emoji polarity (5 = one strongly rated emoji). */
export const EMOJI_WEIGHT = 0.8
/** Summed polarity is clipped here: ten hearts are not ten times one. */
export const EMOJI_MAX = 8

const strip = (s: string) => s.replace(/\uFE0F/g, '')
const POLARITY = new Map(emojiEmotion.map((e) => [strip(e.emoji), e.polarity]))
// One alternation, longest first, so a multi-codepoint emoji wins over its first codepoint.
const RATED = new RegExp(
  [...POLARITY.keys()]
    .sort((a, b) => b.length - a.length)
    .map((e) => e.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|'),
  'gu',
)
// Most posts have no emoji at all: one cheap test skips the alternation for them.
const ANY_EMOJI = /\p{Extended_Pictographic}/u

const clip = (n: number) => Math.max(-EMOJI_MAX, Math.min(EMOJI_MAX, n))

/** Summed polarity of the positive and of the negative rated emojis, each clipped to EMOJI_MAX. */
export function emojiPolarity(text: string): { positive: number; negative: number } {
  let positive = 0
  let negative = 0
  if (ANY_EMOJI.test(text)) {
    for (const [emoji] of strip(text).matchAll(RATED)) {
      const polarity = POLARITY.get(emoji) ?? 0
      if (polarity > 0) positive += polarity
      else negative += polarity
    }
  }
  return { positive: clip(positive), negative: clip(negative) }
}

/** Net polarity of the rated emojis in the text, each side clipped to ±EMOJI_MAX. */
export function emojiValence(text: string): number {
  const { positive, negative } = emojiPolarity(text)
  return positive + negative
}

/** The probabilities with the emoji valence added to the positive and negative logits. */
export function withEmoji(scores: Scores, valence: number): Scores {
  if (valence === 0) return scores
  const shift = EMOJI_WEIGHT * valence
  const pos = scores.positive * Math.exp(shift)
  const neg = scores.negative * Math.exp(-shift)
  const sum = pos + neg + scores.neutral
  return { negative: neg / sum, neutral: scores.neutral / sum, positive: pos / sum }
}
