// The words a burst is about, for an alert's why: each post's terms (words and word pairs, stop
// words and the brand's own names left out), counted per minute against an exponentially weighted
// baseline; the terms that rose most are those furthest above what the baseline expected.
import { eng } from 'stopword'

const STOP = new Set([
  ...eng,
  'the',
  'and',
  'for',
  'with',
  'this',
  'that',
  'its',
  "it's",
  'just',
  'has',
  'have',
  'are',
  'was',
  'our',
  'you',
  'your',
  'my',
  'but',
  'not',
  'now',
  'get',
  'got',
  'any',
  'one',
  'new',
  'out',
  'all',
  'from',
  'they',
  'what',
  'how',
  'why',
  'can',
  'will',
  'there',
])
const WORD = /[\p{L}\p{N}][\p{L}\p{N}'.%-]*[\p{L}\p{N}%]|[\p{L}\p{N}]{3,}/gu

/** Words of three letters or more, and pairs of neighbouring ones, each once per post. */
export function termsOf(text: string, ignore: ReadonlySet<string>): string[] {
  const words = (text.toLowerCase().match(WORD) ?? []).filter(
    (w) => w.length >= 3 && !STOP.has(w) && !ignore.has(w) && !w.startsWith('@'),
  )
  const terms = new Set(words)
  for (let i = 1; i < words.length; i++) terms.add(`${words[i - 1]} ${words[i]}`)
  return [...terms]
}

/** Terms kept per brand: the baseline forgets the rarest beyond this. */
export const MAX_TERMS = 20_000

export interface RisingTerm {
  term: string
  /** Posts with it in the burst window, and how many the baseline expected. */
  count: number
  expected: number
}

/** One brand's term counts: this minute's, and the weighted baseline per minute. */
export class TermTally {
  private current = new Map<string, number>()
  private readonly recent: Map<string, number>[] = []
  private readonly baseline = new Map<string, number>()

  constructor(
    private readonly alpha: number,
    private readonly burstMinutes: number,
  ) {}

  add(terms: readonly string[]): void {
    for (const t of terms) this.current.set(t, (this.current.get(t) ?? 0) + 1)
  }

  /** The minute is over: it joins the burst window (and, with learn(), the baseline). */
  close(): void {
    this.recent.push(this.current)
    this.current = new Map()
    if (this.recent.length > this.burstMinutes) this.recent.shift()
  }

  /** The minute just closed joins the baseline, at `weight` times its usual pace. */
  learn(weight = 1): void {
    const minute = this.recent.at(-1)
    if (!minute) return
    const a = this.alpha * weight
    for (const [t, v] of this.baseline) {
      const next = (1 - a) * v
      if (next < 1e-3) this.baseline.delete(t)
      else this.baseline.set(t, next)
    }
    for (const [t, n] of minute) this.baseline.set(t, (this.baseline.get(t) ?? 0) + a * n)
    if (this.baseline.size > MAX_TERMS) {
      const kept = [...this.baseline].sort((x, y) => y[1] - x[1]).slice(0, MAX_TERMS / 2)
      this.baseline.clear()
      for (const [t, v] of kept) this.baseline.set(t, v)
    }
  }

  /** The terms of the burst window furthest above the baseline (a Poisson z-like score). */
  rising(limit: number): RisingTerm[] {
    const base = this.baseline
    const counts = new Map<string, number>()
    for (const minute of this.recent) for (const [t, n] of minute) counts.set(t, (counts.get(t) ?? 0) + n)
    const scored = [...counts]
      .map(([term, count]) => {
        const expected = (base.get(term) ?? 0) * this.recent.length
        return { term, count, expected, z: (count - expected) / Math.sqrt(expected + 1) }
      })
      .filter((t) => t.count >= 2 && t.count > t.expected)
      // On a tie, a pair before a word: "battery drain" says more than "battery".
      .sort((a, b) => b.z - a.z || b.count - a.count || pairFirst(a.term, b.term) || a.term.localeCompare(b.term))
    // A pair says more than its words: a word is left out when a kept pair holds it.
    const out: RisingTerm[] = []
    for (const t of scored) {
      if (out.length >= limit) break
      if (!t.term.includes(' ') && out.some((o) => o.term.split(' ').includes(t.term))) continue
      out.push({ term: t.term, count: t.count, expected: Math.round(t.expected * 10) / 10 })
    }
    return out
  }
}

const pairFirst = (a: string, b: string) => Number(!a.includes(' ')) - Number(!b.includes(' '))
