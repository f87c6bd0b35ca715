// triage: which brands a scored mention waits for a reply from (metrics/replies.ts has the rule).
// Decided once here, stored with the post and remembered by relate's recent posts, so the brand's
// reply, when it comes, knows whether it answered a mention that needed one.
import { map, type OperatorFunction } from 'rxjs'
import { needsReplyFrom, type ReplyRules } from '../metrics/replies.ts'
import type { ScoredPost } from '../schema.ts'
import type { ScoredInContext } from './classify.ts'

/**
 * The same, for a post classified in context (classifyInContext): whether the mention a brand's
 * reply answers needed one is told by the context, not by what this process remembers, so it
 * comes out the same on any worker. `remember`: told of each mention's needs (the one process's
 * recent posts, so later replies need not score the mention again).
 */
export function triageInContext(
  rules: ReplyRules,
  remember?: (id: string, needsReply: string[]) => void,
): OperatorFunction<ScoredInContext, ScoredPost> {
  return map(({ post, mention, mentionIntents }) => {
    let triaged = post
    const brands = needsReplyFrom(post, rules)
    if (brands.length > 0) {
      triaged = { ...triaged, needsReply: brands }
      remember?.(post.id, brands)
    }
    if (post.answersMentionAt && post.ownBrand && post.replyTo) {
      const needs =
        mention?.needsReply ??
        (mentionIntents
          ? needsReplyFrom(
              { brands: mention?.brands ?? [], terms: mention?.terms ?? [], sentiment: { intents: mentionIntents } },
              rules,
            )
          : [])
      triaged = { ...triaged, mentionNeedsReply: needs.includes(post.ownBrand) }
    }
    return triaged
  })
}
