// The second stage: related events are scored and stored. A post is classified (with the mention
// it answers, where that decides its triage), triaged, and written to the posts table; engagement
// updates and deletions to theirs (a deletion also purges its post). Nothing here depends on the
// order of events across batches, so with a bus it runs on any number of workers.
//
// What comes out is what the store accepted (stored, or spooled to disk while it is unreachable):
// the live figures are computed from that, so the wall never shows a count the store will not hold.
import {
  asyncScheduler,
  bufferTime,
  concatMap,
  filter,
  finalize,
  from,
  ignoreElements,
  map,
  merge,
  type Observable,
  of,
  type SchedulerLike,
  share,
  Subject,
  tap,
} from 'rxjs'
import {
  deletionKey,
  engagementKey,
  type Policies,
  type Progress,
  postKey,
  type RelatedEvent,
  type Spools,
  type StageBasics,
} from '../contract.ts'
import type { Classifier } from '../../models/classifier.ts'
import { replyRules } from '../metrics/replies.ts'
import type { AttributedEngagement, PostDeletion, ScoredPost } from '../schema.ts'
import { clickhouseSink } from '../sinks/clickhouse.ts'
import type { DeadLetter } from '../sinks/deadletter.ts'
import { Purge } from '../sinks/purge.ts'
import { RecentKeys } from '../sinks/recent-keys.ts'
import type { Spool } from '../sinks/spool.ts'
import { type ClassifyMeter, classifyInContext, type PostInContext } from '../transforms/classify.ts'
import { triageInContext } from '../transforms/triage.ts'

/** How long held posts are gathered before their deletions are asked about (with a bus). */
const HELD_BATCH_MS = 100
/** Deliveries a reply waits for its mention to be stored (pauses of 1, 2, 4, 8 s): past them, the mention is taken as needing no reply. */
export const MENTION_WAITS = 5
/** Posts deleted lately, dropped if they are still on their way to the store. */
export const RECENT_DELETIONS = 100_000

/** A batch of posts the store accepted, and those of them still to be shown (not deleted meanwhile). */
export interface Accepted {
  written: ScoredPost[]
  shown: ScoredPost[]
}

export interface StoreCounts {
  scored: number
  stored: number
  engagementStored: number
  duplicates: number
  deletions: number
  deleted: number
  purgeFailures: number
  purgesGivenUp: number
}

export interface StoreStageDeps extends StageBasics {
  classifier: Classifier
  counts: StoreCounts
  meter: ClassifyMeter
  spools?: Omit<Spools, 'alerts'>
  replies?: Policies['replies']
  /** Told of each mention's needs as it is triaged (the one process's recent posts). */
  remember?: (id: string, needsReply: string[]) => void
  /** Told which events go on to later stages, and when each is done with (bus/settlement.ts). */
  progress?: Progress
  /** Other workers write the same store: a deletion of a post this one writes may be stored by another. */
  sharedWriters?: boolean
}

/** One table's sink: its one writer, asking the store what is new, spooling through outages. */
export function tableSink<T>(
  table: string,
  key: (item: T) => string,
  insert: (batch: T[], options: { checked: boolean }) => Promise<unknown>,
  unstored: (batch: T[]) => Promise<T[]>,
  options: {
    deadLetter: DeadLetter
    spool?: Spool<T>
    onDuplicate?: (item: T) => void
    giveBack?: (items: T[], reason: string) => void
    drainOnStopMs?: number
    scheduler?: SchedulerLike
  },
) {
  return clickhouseSink<T>(table, (batch, checked) => insert(batch, { checked }), {
    deadLetter: options.deadLetter,
    spool: options.spool,
    key,
    unstored,
    onDuplicate: options.onDuplicate,
    ...(options.giveBack ? { giveBack: options.giveBack } : {}),
    drainAfterInputMs: options.drainOnStopMs,
    scheduler: options.scheduler,
  })
}

/**
 * `related$` must be hot (every branch subscribes before it emits). Returns the posts accepted,
 * the engagement updates accepted, and the deletions' completion.
 */
export function storeEvents(related$: Observable<RelatedEvent>, deps: StoreStageDeps) {
  const { store, counts, progress } = deps
  // An event kept in the dead-letter record is done with, as much as a stored one.
  const deadLetter = progress ? settleDeadLetters(deps.deadLetter, progress) : deps.deadLetter
  const sinkOptions = { deadLetter, drainOnStopMs: deps.drainOnStopMs, scheduler: deps.scheduler }
  const deletedLately = new RecentKeys(RECENT_DELETIONS)
  const purge = new Purge(store, counts)
  // A store that does not answer now leaves the batch as it is: the next start's replay (or the
  // deletion's own purge, if it comes later) deals with it.
  const storedNeeds = async (e: PostInContext): Promise<PostInContext | undefined> => {
    const mention = { id: e.mention!.stored!, createdAt: e.post.answersMentionAt ?? e.post.createdAt }
    const found = await store.needsReplyOf([mention]).catch(() => undefined)
    const needs = found?.get(mention.id)
    if (needs) return { ...e, mention: { needsReply: needs } }
    // With a bus, the reply waits for its mention; in one process the mention was stored before
    // (or dead-lettered), and the store not answering leaves it as needing no reply.
    if (progress && progress.deliveries(postKey(e.post.id)) < MENTION_WAITS) {
      progress.givenBack(postKey(e.post.id))
      return undefined
    }
    return { ...e, mention: { needsReply: [] } }
  }
  const deletedElsewhere = (posts: readonly ScoredPost[]) =>
    store.deletedAmong(posts.map((p) => p.id)).catch(() => [] as string[])

  // With a bus, a post the store held already may be one another worker wrote (and may have died
  // before its record went out): the live figures count it then, unless its deletion is stored
  // (the store left it out for that, and so do the figures). Asked a batch at a time.
  const held$ = new Subject<ScoredPost>()
  const settledHeld$ = !progress
    ? held$.pipe(ignoreElements())
    : held$.pipe(
        bufferTime(HELD_BATCH_MS, null, Number.POSITIVE_INFINITY, deps.scheduler ?? asyncScheduler),
        filter((posts) => posts.length > 0),
        concatMap(async (posts) => {
          const deleted = new Set(await store.deletedAmong(posts.map((p) => p.id)).catch(() => [] as string[]))
          for (const p of posts)
            progress.settled(postKey(p.id), deleted.has(p.id) ? undefined : { post: p, shown: true }, true)
        }),
        ignoreElements(),
      )
  const triaged$ = related$.pipe(
    filter((e): e is Extract<RelatedEvent, { kind: 'post' }> => e.kind === 'post'),
    map((e): PostInContext => ({ post: e.post, ...(e.mention ? { mention: e.mention } : {}) })),
    tap((e) => progress?.taken(postKey(e.post.id))),
    // A reply to a mention whose text is forgotten: its needs are read from the store. A mention
    // not stored yet (still on the bus) sends the reply back to the bus, to come again after it.
    concatMap((e) => (e.mention?.stored ? from(storedNeeds(e)) : of(e))),
    filter((e): e is PostInContext => e !== undefined),
    // The classifier's thread stopped: the batch is given back (the journal or the bus has it), not dead-lettered.
    classifyInContext(
      deps.classifier,
      deadLetter,
      deps.scheduler,
      deps.meter,
      progress && ((post, reason) => progress.givenBack(postKey(post.id), reason)),
    ),
    triageInContext(replyRules(deps.tracking, deps.replies?.allMentions), deps.remember),
    // Deleted while it was being classified: it never reaches the store.
    filter((post) => {
      counts.scored++
      if (!deletedLately.has(post.id)) return true
      counts.deleted++
      progress?.settled(postKey(post.id))
      return false
    }),
  )
  const accepted$: Observable<Accepted> = triaged$.pipe(
    tableSink('posts', (p) => p.id, store.insertPosts.bind(store), store.unstoredPosts.bind(store), {
      ...sinkOptions,
      spool: deps.spools?.posts,
      onDuplicate: (p) => {
        counts.duplicates++
        held$.next(p)
      },
      // What the store cannot take now, and no spool holds (none, or full), goes back to the bus or the journal.
      ...(progress
        ? {
            giveBack: (posts: ScoredPost[], reason: string) =>
              posts.forEach((p) => progress.givenBack(postKey(p.id), reason)),
          }
        : {}),
    }),
    tap((written) => (counts.stored += written.length)),
    // Deleted while it waited in the sink: stored after its deletion's purge ran, so purged now.
    // With other workers, its deletion may have been stored by one of them meanwhile: asked.
    concatMap(async (written) => {
      if (deps.sharedWriters && written.length > 0)
        for (const id of await deletedElsewhere(written)) deletedLately.add(id)
      const deleted = written.filter((p) => deletedLately.has(p.id))
      if (deleted.length > 0) await purge.remove(deleted)
      return { written, shown: deleted.length === 0 ? written : written.filter((p) => !deletedLately.has(p.id)) }
    }),
    tap(({ written, shown }) => {
      if (!progress) return
      const visible = new Set(shown)
      for (const post of written) progress.settled(postKey(post.id), { post, shown: visible.has(post) })
    }),
    finalize(() => held$.complete()),
    share(),
  )

  const engagement$: Observable<AttributedEngagement[]> = related$.pipe(
    filter((e): e is Extract<RelatedEvent, { kind: 'engagement' }> => e.kind === 'engagement'),
    map((e) => e.update),
    tap((u) => progress?.taken(engagementKey(u.id))),
    tableSink('engagement', (u) => u.id, store.insertEngagement.bind(store), store.unstoredEngagement.bind(store), {
      ...sinkOptions,
      spool: deps.spools?.engagement,
      onDuplicate: (u) => {
        counts.duplicates++
        progress?.settled(engagementKey(u.id), { engagement: u }, true)
      },
      ...(progress
        ? {
            giveBack: (updates: AttributedEngagement[], reason: string) =>
              updates.forEach((u) => progress.givenBack(engagementKey(u.id), reason)),
          }
        : {}),
    }),
    tap((written) => {
      counts.engagementStored += written.length
      for (const update of written) progress?.settled(engagementKey(update.id), { engagement: update })
    }),
    share(),
  )

  // The purge needs each deleted post's time (its partition); kept until its purge has run.
  const createdAt = new Map<string, string>()
  const deletions$ = related$.pipe(
    filter((e): e is Extract<RelatedEvent, { kind: 'delete' }> => e.kind === 'delete'),
    map((e) => {
      deletedLately.add(e.deletion.postId)
      createdAt.set(e.deletion.postId, e.createdAt)
      if (createdAt.size > RECENT_DELETIONS) createdAt.delete(createdAt.keys().next().value!)
      progress?.taken(deletionKey(e.deletion.postId))
      return e.deletion
    }),
    tableSink(
      'post_deletions',
      (d) => d.postId,
      store.insertDeletions.bind(store),
      store.unstoredDeletions.bind(store),
      {
        ...sinkOptions,
        spool: deps.spools?.deletions,
        onDuplicate: (d) => progress?.settled(deletionKey(d.postId)),
        ...(progress
          ? {
              giveBack: (deletions: PostDeletion[], reason: string) =>
                deletions.forEach((d) => progress.givenBack(deletionKey(d.postId), reason)),
            }
          : {}),
      },
    ),
    tap((written) => (counts.deletions += written.length)),
    concatMap(async (written) => {
      const posts = written.map((d) => ({ id: d.postId, createdAt: createdAt.get(d.postId) ?? d.at }))
      for (const d of written) createdAt.delete(d.postId)
      await purge.remove(posts)
      for (const d of written) progress?.settled(deletionKey(d.postId))
    }),
  )
  return { accepted$, engagement$, deletions$: merge(deletions$, settledHeld$) }
}

/** The stages past `taken` that dead-letter what they follow, and the key of what they refuse. */
const SETTLED_BY_STAGE: Record<string, (payload: { id?: unknown; postId?: unknown }) => unknown> = {
  classify: (p) => typeof p.id === 'string' && postKey(p.id),
  'store:posts': (p) => typeof p.id === 'string' && postKey(p.id),
  'store:engagement': (p) => typeof p.id === 'string' && engagementKey(p.id),
  'store:post_deletions': (p) => typeof p.postId === 'string' && deletionKey(p.postId),
}

function settleDeadLetters(deadLetter: DeadLetter, progress: Progress): DeadLetter {
  return {
    record(stage, reason, payload) {
      deadLetter.record(stage, reason, payload)
      const key = payload !== null && typeof payload === 'object' ? SETTLED_BY_STAGE[stage]?.(payload) : undefined
      if (typeof key === 'string') progress.settled(key)
    },
    counts: () => deadLetter.counts(),
    flush: () => deadLetter.flush(),
  }
}
