// "The middle" of the crowd, per post: who is mixed, who is unsure, who asks or suggests.
// These rules are shared by every classifier so the flags mean the same whatever model scored.
import type { Intent, Label } from '../pipelines/schema.ts'
import type { Cues } from './classifier.ts'

export type Scores = { negative: number; neutral: number; positive: number }

/** Normalised entropy (0..1) above which a post is `uncertain`. */
export const UNCERTAIN_ENTROPY = 0.9
/** VADER's pos and neg shares (intensity-weighted fractions of the words, neutral ones counted) must both reach this for the lexicon to call a post two-sided. */
export const MIXED_SHARE = 0.1
/** Probability that positive and negative must both reach for `mixed` on the model alone... */
export const MIXED_PROBABILITY = 0.2
/** ...or, when the lexicon sees both polarities in the words, the lower bar they must both reach. */
export const MIXED_PROBABILITY_WITH_LEXICON = 0.1

export function labelOf(scores: Scores): Label {
  const { negative, neutral, positive } = scores
  if (positive >= negative && positive >= neutral) return 'positive'
  if (negative >= neutral) return 'negative'
  return 'neutral'
}

/** Shannon entropy of the three probabilities divided by log(3): 0 = certain, 1 = uniform. */
export function normalisedEntropy(scores: Scores): number {
  let h = 0
  for (const p of [scores.negative, scores.neutral, scores.positive]) if (p > 0) h -= p * Math.log(p)
  return h / Math.log(3)
}

/**
 * `mixed`: positive and negative both substantial. Either the model gives both at least
 * MIXED_PROBABILITY, or the lexicon finds both positive and negative words (each at least
 * MIXED_SHARE of the text's weight) and the model gives both at least MIXED_PROBABILITY_WITH_LEXICON.
 */
export function isMixed(scores: Scores, lexicon: () => { pos: number; neg: number }): boolean {
  const low = Math.min(scores.positive, scores.negative)
  if (low >= MIXED_PROBABILITY) return true
  if (low < MIXED_PROBABILITY_WITH_LEXICON) return false
  // The lexicon is asked only here, in the narrow band where it can decide: it is slow.
  const { pos, neg } = lexicon()
  return pos >= MIXED_SHARE && neg >= MIXED_SHARE
}

// Intent cues, deliberately plain and documented: a post can carry several intents.
const QUESTION = /\?|^\s*(how|what|why|when|where|who|which|is|are|can|could|does|do|will|should)\b/i
const SUGGESTION =
  /\b(should (add|make|let|offer|bring|include|have|fix|allow|support|change)|wish|please add|would be (nice|great|cool)|it'd be (nice|great)|feature request|how about|could you (add|make))\b/i
const SUPPORT =
  /\b(help|can't|cannot|won't|doesn't|not working|broken|stuck|crash(es|ed|ing)?|error|refund|replace(ment)?|fix)\b/i
const COMPARISON = /\b(better|worse|than|vs\.?|versus|compared to|switch(ed|ing)? (to|from))\b/i
// Without brand matching (the CLI), only cues that name two sides on their own count.
const STRONG_COMPARISON =
  /\b(vs\.?|versus|compared to|(better|worse|faster|slower|cheaper) than|switch(ed|ing)? (to|from))\b/i

/**
 * Intents from the text and the sentiment label; a post can carry several. `competitorNamed` says
 * whether the post names a second tracked brand (the pipeline knows); left out, as in the CLI,
 * comparison needs a cue that names two sides by itself ("vs", "better than", "switched from").
 * A model that reads questions, suggestions and comparisons itself (`cues`) decides those three:
 * on the dev splits it finds far more than the cues below (npm run eval:middle).
 */
export function detectIntents(text: string, label: Label, competitorNamed?: boolean, cues?: Cues): Intent[] {
  const intents: Intent[] = []
  const question = cues ? cues.question : QUESTION.test(text)
  if (question) intents.push('question')
  if (cues ? cues.suggestion : SUGGESTION.test(text)) intents.push('suggestion')
  if (label === 'negative') intents.push('complaint')
  if (label === 'positive' && !question) intents.push('praise')
  // A second tracked brand named with a comparative word is a comparison whatever the model says.
  const comparison = cues
    ? cues.comparison || (competitorNamed === true && COMPARISON.test(text))
    : competitorNamed === undefined
      ? STRONG_COMPARISON.test(text)
      : competitorNamed && COMPARISON.test(text)
  if (comparison) intents.push('comparison')
  if (SUPPORT.test(text) && (label === 'negative' || question)) intents.push('support')
  return intents
}
