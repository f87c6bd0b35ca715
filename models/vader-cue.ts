// VADER is slow in JavaScript (about 0.15 ms a post), and `mixed` only needs it to find both a
// positive and a negative word. This cheap look-up in VADER's own lexicon is a necessary condition
// for that: when it says no, VADER would not find both polarities either, so it is not asked.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import vader from 'vader-sentiment'

const LEXICON = new Map<string, number>(
  readFileSync(createRequire(import.meta.url).resolve('vader-sentiment/vader_lexicon.txt'), 'utf8')
    .split('\n')
    .map((line) => line.split('\t'))
    .filter((cols) => cols.length >= 2)
    .map(([word, valence]) => [word!, Number(valence)]),
)
// VADER's NEGATE list, and "least", which VADER also reads as a negation ("least helpful"): a
// negation can turn a positive word negative, and the other way round. Listing too much only
// costs a VADER call; listing too little would change `mixed`.
const NEGATE = new Set(
  "aint arent cannot cant couldnt darent didnt doesnt ain't aren't can't couldn't daren't didn't doesn't dont hadnt hasnt havent isnt mightnt mustnt neither don't hadn't hasn't haven't isn't mightn't mustn't neednt needn't never none nope nor not nothing nowhere oughtnt shant shouldnt uhuh wasnt werent oughtn't shan't shouldn't uh-uh wasn't weren't without wont wouldnt won't wouldn't rarely seldom despite least".split(
    ' ',
  ),
)
const EDGES = /^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu

/** False when VADER cannot find both polarities in the text. */
export function mayHoldBothPolarities(text: string): boolean {
  let positive = false
  let negative = false
  let negation = false
  for (const token of text.toLowerCase().split(/\s+/)) {
    const word = token.replace(EDGES, '')
    if (NEGATE.has(word) || word.includes("n't")) negation = true
    const valence = LEXICON.get(token) ?? LEXICON.get(word) ?? 0
    if (valence > 0) positive = true
    else if (valence < 0) negative = true
  }
  return (positive && negative) || (negation && (positive || negative))
}

const NONE = { pos: 0, neg: 0 }

/** VADER's positive and negative shares of the text, asked only when it could find both. */
export function lexiconShares(text: string): { pos: number; neg: number } {
  return mayHoldBothPolarities(text) ? vader.SentimentIntensityAnalyzer.polarity_scores(text) : NONE
}
