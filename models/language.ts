// The language of a post, read from its text (eld: n-gram tables shipped in the package, nothing
// fetched), never from the network's tag alone: Bluesky's `langs` is the poster's locale by
// default. A post in a language the classifier does not read is stored and counted in volume, but
// not scored (schema.ts, ScoredPost.sentiment). docs/sentiment.md has the figures behind the rule.
import { eld } from 'eld/extrasmall'

/**
 * Latin letters a text needs before it is read as another language than English: short English
 * posts (a few words and a place name) look Danish, Swedish or Tagalog to n-grams. At 25,
 * 0.1% of the English dev posts of eval:middle are left unscored (docs/sentiment.md), at 15, 0.26%.
 */
export const MIN_LETTERS = 25
/** Letters of another script that tell the model cannot read the post (CJK packs a word in one). */
export const MIN_OTHER_SCRIPT = 4
/**
 * How far another language's score must stand above English's: eld reads a few English tweets
 * with names in them as Tagalog by a hair (0.76 against 0.73).
 */
export const ENGLISH_MARGIN = 0.1

export interface Identified {
  /** ISO 639-1, or the network's tag where the text cannot tell; '' when neither says. */
  language: string
  /** Whether the text itself told (and the post may be left unscored on it). */
  fromText: boolean
}

/**
 * Words no other language eld knows writes the same way (so not "is", "was", "will", "for", "to",
 * "my", "of", "we", "me", "so", "just": Dutch, German, Danish, Polish or Spanish words too). Three
 * of them, or two making up a fifth of the words (an English phrase in a German post is not
 * enough), and a post is English without asking eld, which costs most of the time here: 40% of
 * the English dev posts take this way.
 */
const ENGLISH_WORDS = new Set([
  'the',
  'and',
  'are',
  'this',
  'that',
  'with',
  'you',
  'have',
  'but',
  'not',
  'what',
  'it',
  'they',
  'your',
  'about',
  'when',
  'how',
  'been',
  'from',
  'there',
  'would',
  'like',
  'if',
  "it's",
  "i'm",
  "don't",
])
const WORD = /[a-z']+/g

/** Share of a post's words that must be ENGLISH_WORDS for the short cut. */
const ENGLISH_SHARE = 0.2

function plainlyEnglish(words: string): boolean {
  const all = words.toLowerCase().match(WORD) ?? []
  const hits = all.filter((w) => ENGLISH_WORDS.has(w))
  const distinct = new Set(hits).size
  return distinct >= 3 || (distinct >= 2 && hits.length >= ENGLISH_SHARE * all.length)
}

const LATIN = /\p{Script=Latin}/gu
const LETTER = /\p{L}/gu
/** What says nothing of the language: links, mentions, hashtags, digits, emojis and punctuation. */
const NOISE = /https?:\/\/\S+|www\.\S+|[@#][\p{L}\p{N}_.-]+|[^\p{L}\p{M}'’\s-]/gu

const count = (text: string, pattern: RegExp) => text.match(pattern)?.length ?? 0

/** The language of `text`, with the network's tag (`declared`) as the fallback for short posts. */
export function identifyLanguage(text: string, declared = ''): Identified {
  const words = text.replace(NOISE, ' ').replace(/\s+/g, ' ').trim()
  const letters = count(words, LETTER)
  const latin = count(words, LATIN)
  const fallback = { language: declared.toLowerCase().split(/[-_]/)[0] ?? '', fromText: false }
  if (letters - latin >= MIN_OTHER_SCRIPT && latin < letters / 2) {
    // Mostly another script: no English model reads it, whichever language eld names.
    const found = eld.detect(words).language
    return { language: found || fallback.language || 'und', fromText: true }
  }
  if (latin < MIN_LETTERS) return fallback
  if (plainlyEnglish(words)) return { language: 'en', fromText: true }
  const result = eld.detect(words)
  if (!result.language || !result.isReliable()) return fallback
  if (result.language === 'en') return { language: 'en', fromText: true }
  const scores = result.getScores()
  const lead = (scores[result.language] ?? 0) - (scores.en ?? 0)
  return lead >= ENGLISH_MARGIN ? { language: result.language, fromText: true } : { language: 'en', fromText: true }
}

/** The languages a classifier reads: a comma list of ISO 639-1 codes, or `*` for any. */
export class ReadLanguages {
  private readonly codes: ReadonlySet<string> | undefined

  constructor(readonly spec = 'en') {
    const codes = spec
      .split(',')
      .map((c) => c.trim().toLowerCase())
      .filter(Boolean)
    this.codes = codes.includes('*') ? undefined : new Set(codes)
  }

  /** Whether a post so identified is scored: always, unless its text says a language not read. */
  scores(identified: Identified): boolean {
    return !identified.fromText || this.codes === undefined || this.codes.has(identified.language)
  }
}

/** A classifier's languages unless it is told otherwise: the shipped models read English. */
export const ENGLISH = new ReadLanguages('en')
