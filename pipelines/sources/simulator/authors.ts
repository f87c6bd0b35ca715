// A population of simulated authors with a realistic, heavy-tailed spread of followers: most have
// a few hundred, a few have hundreds of thousands. Some post far more often than others.
import type { Author } from '../../schema.ts'
import type { Random } from './random.ts'

const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ra',
  'to',
  'ne',
  'su',
  'vi',
  'da',
  'jo',
  'be',
  'ly',
  'an',
  'or',
  'el',
  'is',
  'ux',
  'qi',
]
const FIRST = [
  'Alex',
  'Sam',
  'Priya',
  'Jonas',
  'Mei',
  'Tomás',
  'Ada',
  'Kofi',
  'Lena',
  'Ravi',
  'Zoe',
  'Omar',
  'Ines',
  'Yuki',
]

export function makeAuthors(count: number, random: Random): Author[] {
  const authors: Author[] = []
  for (let i = 0; i < count; i++) {
    const name = random.pick(SYLLABLES) + random.pick(SYLLABLES) + random.pick(SYLLABLES)
    const handle = `${name}${random.chance(0.5) ? random.int(1, 999) : ''}`
    // 1% are influencers; the rest follow a log-normal around a median of ~180 followers.
    const followers = random.chance(0.01)
      ? Math.round(random.logNormal(80_000, 1.2))
      : Math.round(random.logNormal(180, 1.6))
    authors.push({
      id: `sim-user-${i}`,
      handle,
      displayName: `${random.pick(FIRST)} ${name[0]!.toUpperCase()}.`,
      followers,
    })
  }
  return authors
}

/** Skewed pick: low indexes post much more often than high ones (a few loud voices). */
export function pickAuthor(authors: readonly Author[], random: Random): Author {
  return authors[Math.floor(authors.length * random.next() ** 2)]!
}

export function brandAccount(handle: string, displayName: string): Author {
  return { id: `sim-brand-${handle}`, handle, displayName, followers: 250_000 }
}
