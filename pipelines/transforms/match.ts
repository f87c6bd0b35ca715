// match: which tracked brands a post is about. A keyword matches as a whole word, case-insensitively;
// an @mention of a brand's handle matches that brand. A post by a brand's own account is marked
// `ownBrand` and does not count as a mention of that brand. Posts that match nothing are untracked
// and leave the stream here (counted, not dead-lettered: they are not errors).
import { filter, map, type OperatorFunction } from 'rxjs'
import type { Post, TrackedBrand } from '../schema.ts'

interface BrandMatcher {
  name: string
  handles: Set<string>
  words: RegExp
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

export function compileTracking(tracking: readonly TrackedBrand[]): BrandMatcher[] {
  return tracking.map((brand) => {
    const handles = brand.handles.map((h) => h.replace(/^@/, '').toLowerCase())
    const alternatives = [...brand.keywords.map(escapeRegExp), ...handles.map((h) => `@${escapeRegExp(h)}`)]
    return {
      name: brand.name,
      handles: new Set(handles),
      words: new RegExp(`(?<![\\p{L}\\p{N}_])(${alternatives.join('|')})(?![\\p{L}\\p{N}_])`, 'giu'),
    }
  })
}

/** The post with `brands`, `terms` and `ownBrand` filled, or null when no tracked brand is in it. */
export function matchOne(post: Post, matchers: readonly BrandMatcher[]): Post | null {
  const brands: string[] = []
  const terms = new Set<string>()
  let ownBrand: string | undefined
  for (const m of matchers) {
    // By handle, or by DID (Bluesky's account ids, stable where handles change).
    if (
      m.handles.has(post.author.handle) ||
      (post.author.id.startsWith('did:') && m.handles.has(post.author.id.toLowerCase()))
    )
      ownBrand = m.name
    const found = [...post.text.matchAll(m.words)].map((hit) => hit[0].toLowerCase())
    if (found.length === 0) continue
    found.forEach((t) => terms.add(t))
    if (ownBrand !== m.name) brands.push(m.name)
  }
  if (brands.length === 0 && ownBrand === undefined) return null
  return { ...post, brands, terms: [...terms], ...(ownBrand === undefined ? {} : { ownBrand }) }
}

/**
 * `inThread`: whether a post this one replies to is in a conversation under a brand's own post;
 * such a reply is kept even when it names no brand (the brand's dialogue counts it), with no brands.
 */
export function match(
  tracking: readonly TrackedBrand[],
  onUntracked: () => void = () => {},
  inThread: (postId: string) => boolean = () => false,
): OperatorFunction<Post, Post> {
  const matchers = compileTracking(tracking)
  return (posts$) =>
    posts$.pipe(
      map(
        (post) =>
          matchOne(post, matchers) ??
          (post.replyTo && inThread(post.replyTo) ? { ...post, brands: [], terms: [] } : null),
      ),
      filter((post): post is Post => {
        if (post === null) onUntracked()
        return post !== null
      }),
    )
}
