// shortlist: what of each push of new posts the walls are sent. A ticker shows a dozen posts and
// nobody reads more than a few a second, so at load the walls get the newest of each brand; the
// counts, metrics and alerts take every post upstream of this, and the store has them all.
import type { ScoredPost } from '../schema.ts'

/**
 * Most posts of one brand pushed to the walls a push (the newest): 48 a second, more than a ticker
 * can show or anyone read. At 2,000 posts a second, every wall would otherwise be sent megabytes a
 * second it cannot show; the counts, metrics and alerts take every post, and the store has them all.
 */
export const LIVE_POSTS_PER_BRAND = 12

/** The newest `perBrand` posts of each brand (by its first), in arrival order; the number left out. */
export function newestPerBrand(
  posts: readonly ScoredPost[],
  perBrand: number,
): { kept: ScoredPost[]; skipped: number } {
  const left = new Map<string, number>()
  const keep = new Array<boolean>(posts.length).fill(false)
  for (let i = posts.length - 1; i >= 0; i--) {
    const brand = posts[i]!.brands[0] ?? ''
    const n = left.get(brand) ?? perBrand
    if (n > 0) keep[i] = true
    left.set(brand, n - 1)
  }
  const kept = posts.filter((_, i) => keep[i])
  return { kept, skipped: posts.length - kept.length }
}
