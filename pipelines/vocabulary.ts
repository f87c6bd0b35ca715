// The words and numbers the server and the wall share: plain constants with no imports, so that the
// browser bundle can take them as values (the schema builds its TypeBox types from these lists).

export const SOURCE_NAMES = ['simulator', 'jetstream', 'mastodon', 'hackernews', 'webhook', 'replay'] as const

export const LABELS = ['negative', 'neutral', 'positive'] as const
/** What a search asks for and the store writes in place of a label for an unscored post. */
export const UNSCORED = 'unscored'
/** What a post can be found by: a label, or having none (unscored). */
export const LABEL_FILTERS = [...LABELS, UNSCORED] as const

export const INTENTS = ['question', 'suggestion', 'complaint', 'praise', 'comparison', 'support'] as const

/**
 * The emotions a post can be read to express (docs/sentiment.md defines each): TweetEval's four,
 * which the middle model was trained on. A post expresses none, one or several.
 */
export const EMOTIONS = ['anger', 'joy', 'optimism', 'sadness'] as const

/** The middle of the crowd: what the loudest-feedback tools miss. */
export const MIDDLE_INTENTS: readonly (typeof INTENTS)[number][] = ['question', 'suggestion']

/** The part of a scored post (schema.ts, ScoredPost) that decides whether it is in the middle. */
interface MiddleReading {
  sentiment?: {
    label: (typeof LABELS)[number]
    mixed: boolean
    uncertain: boolean
    intents: readonly (typeof INTENTS)[number][]
  }
}

/**
 * A post is in the middle when it is neutral, or mixed (positive and negative both substantial),
 * or uncertain (the classifier cannot tell), or asks a question, or suggests something. Each post
 * counts once however many of these hold. An unscored post (a language not read) is in none.
 */
export function isMiddle(post: MiddleReading): boolean {
  const s = post.sentiment
  return (
    s !== undefined &&
    (s.label === 'neutral' || s.mixed || s.uncertain || s.intents.some((i) => MIDDLE_INTENTS.includes(i)))
  )
}

/** The backlash score's parts (metrics/risk.ts) and the weight of each in the score of 0 to 100. */
export const RISK_WEIGHTS = { spike: 0.3, negativeShare: 0.4, reachNegativity: 0.15, overdue: 0.15 } as const

/** The backlash scores at which an alert is raised at each severity (metrics/alerting.ts). */
export const LEVELS = { warning: 40, critical: 65 } as const
