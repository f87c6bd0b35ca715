// The Hacker News source: the v0 API polled, as its README describes. Every new item id since the
// last poll (`/maxitem.json`) is fetched in order (`/item/{id}.json`) and stories and comments
// become posts (match keeps those that mention tracked terms). `/updates.json` names items that
// changed: points gained on a post read here become likes, a deleted or killed one a deletion. The
// last id read is saved to disk; a restart reads again the last items before it (the store drops
// what it has), so nothing on its way to the store when the process died is lost. A failed poll
// (an HTTP error, the network) is retried with capped backoff and misses nothing.
import { Observable } from 'rxjs'
import type { SourceEvent } from '../schema.ts'
import type { DeadLetter } from '../sinks/deadletter.ts'
import { RecentKeys } from '../sinks/recent-keys.ts'
import type { CursorFile } from './cursor-file.ts'
import { httpClient } from './http.ts'
import { checkItem, eventsOf, type Item, itemId, readable } from './hackernews/parse.ts'
import { OverlapKeys, passOnce } from './once.ts'
import { show } from './show.ts'

export const HN_API_URL = 'https://hacker-news.firebaseio.com/v0'
export const POLL_MS = 5_000
/** Items fetched at once: the API has no rate limit, but a burst of hundreds is rude. */
export const CONCURRENCY = 8
/** A restart reads again this many items before the saved one. */
export const OVERLAP_ITEMS = 100
/** Past this many new items (a long stop), the oldest are skipped, and counted. */
export const MAX_CATCH_UP = 50_000
/** An id still `null` (not yet propagated) after this many polls is given up, and counted. */
export const NULL_POLLS = 5
/** Items read here whose points and deletion are followed. */
export const WATCHED = 100_000
export const BACKOFF = { initialMs: 1_000, maxMs: 60_000 }

export interface HackerNewsCursor {
  lastId: number
  /** The first item read: a rewind never goes before where the stream began. */
  firstId?: number
  /** On a clean stop, the keys of the events of the last OVERLAP_ITEMS items (with their item ids), not passed on twice. */
  recent?: [key: string, id: number][]
}
export const isHackerNewsCursor = (v: unknown): v is HackerNewsCursor => {
  const c = v as HackerNewsCursor
  return (
    typeof v === 'object' &&
    v !== null &&
    Number.isSafeInteger(c.lastId) &&
    (c.firstId === undefined || Number.isSafeInteger(c.firstId)) &&
    (c.recent === undefined ||
      (Array.isArray(c.recent) &&
        c.recent.every((r) => Array.isArray(r) && typeof r[0] === 'string' && Number.isSafeInteger(r[1]))))
  )
}

export interface HackerNewsStats {
  polls: number
  items: number
  events: number
  duplicates: number
  malformed: number
  /** Ids that stayed `null`, and ids skipped after a stop longer than MAX_CATCH_UP items. */
  missing: number
  skipped: number
  errors: number
  lastError?: string
  /** Whether the last poll reached the API, and since when that holds (epoch ms; for /readyz). */
  connected: boolean
  since: number
}
export const newHackerNewsStats = (): HackerNewsStats => ({
  polls: 0,
  items: 0,
  events: 0,
  duplicates: 0,
  malformed: 0,
  missing: 0,
  skipped: 0,
  errors: 0,
  connected: false,
  since: Date.now(),
})

export interface HackerNewsOptions {
  /** The API root, `https://hacker-news.firebaseio.com/v0` by default. */
  url?: string
  deadLetter: DeadLetter
  cursorFile?: CursorFile<HackerNewsCursor>
  pollMs?: number
  backoff?: { initialMs: number; maxMs: number }
  stats?: HackerNewsStats
}

const ZERO = { likes: 0, reposts: 0, replies: 0, quotes: 0 }

export function hackerNewsSource(options: HackerNewsOptions): Observable<SourceEvent> {
  const stats = options.stats ?? newHackerNewsStats()
  const base = (options.url ?? HN_API_URL).replace(/\/$/, '')
  const backoff = options.backoff ?? BACKOFF
  return new Observable<SourceEvent>((subscriber) => {
    const saved = options.cursorFile?.load(isHackerNewsCursor)
    // Reading resumes after `last`: just before the first item read at the earliest.
    let last = saved ? Math.max((saved.firstId ?? 1) - 1, saved.lastId - OVERLAP_ITEMS) : undefined
    let firstId = saved?.firstId ?? saved?.lastId
    let high = saved?.lastId ?? 0
    const seen = new RecentKeys(WATCHED)
    // Keys of the events of the last OVERLAP_ITEMS items read: what a restart reads again.
    const overlap = new OverlapKeys<number>(saved?.recent ?? [])
    for (const [key] of saved?.recent ?? []) seen.add(key)
    const watched = new Map<number, number>() // item id -> points when last read
    // When each item was read: its comment count already holds the comments made before.
    const readAt = new Map<string, number>()
    const nulls = new Map<number, number>()
    const http = httpClient()
    let timer: NodeJS.Timeout | undefined
    let stopped = false
    let failures = 0

    let savedAt = 0
    const save = (final: boolean) => {
      if (!options.cursorFile || last === undefined) return
      if (!final && Date.now() - savedAt < 1_000) return
      savedAt = Date.now()
      try {
        options.cursorFile.save({
          lastId: Math.max(last, high),
          ...(firstId !== undefined ? { firstId } : {}),
          ...(final ? { recent: overlap.entries() } : {}),
        })
      } catch (error) {
        stats.lastError = `cannot save the cursor: ${(error as Error).message}`
      }
    }

    /** A path's JSON; for an item, a body that is not JSON is that item's fault, not the poll's. */
    const get = async (path: string): Promise<unknown> => JSON.parse(await http.text(`${base}${path}`))
    const getItem = async (id: number): Promise<{ body: unknown } | { broken: string }> => {
      const text = await http.text(`${base}/item/${id}.json`)
      try {
        return { body: JSON.parse(text) }
      } catch (error) {
        return { broken: `/item/${id}.json is not JSON: ${(error as Error).message}` }
      }
    }

    const pass = (events: SourceEvent[], id: number) => {
      const fresh = events.filter(
        (e) =>
          !(
            e.kind === 'engagement' &&
            e.update.id.endsWith('#reply') &&
            Date.parse(e.update.at) <= (readAt.get(e.update.postId) ?? -1)
          ),
      )
      passOnce(
        fresh,
        seen,
        (e) => subscriber.next(e),
        stats,
        (key) => overlap.add(key, id),
      )
    }

    const deadLetter = (reason: string, payload: unknown) => {
      stats.malformed++
      options.deadLetter.record('hackernews', reason, payload)
    }

    const watch = (item: Item) => {
      watched.delete(item.id)
      watched.set(item.id, item.score ?? 0)
      if (watched.size > WATCHED) watched.delete(watched.keys().next().value!)
    }

    /** Reads new items in id order; stops at an id not there yet, to try it again next poll. */
    const readNew = async (max: number) => {
      if (last === undefined) {
        // First start: from now on.
        last = max
        firstId = max + 1
        return
      }
      if (max - last > MAX_CATCH_UP) {
        stats.skipped += max - last - MAX_CATCH_UP
        last = max - MAX_CATCH_UP
      }
      let next: number = last
      while (next < max && !stopped) {
        const from = next
        const ids: number[] = Array.from({ length: Math.min(CONCURRENCY, max - from) }, (_, i) => from + 1 + i)
        const answers = await Promise.all(ids.map(getItem))
        for (const [i, answer] of answers.entries()) {
          const id: number = ids[i]!
          if (typeof answer === 'object' && 'body' in answer && answer.body !== null) nulls.delete(id)
          const body = 'body' in answer ? answer.body : answer.broken
          const item = 'body' in answer ? checkItem(body) : answer.broken
          if (item === null) {
            // Propagating: try again next poll, but not for ever.
            const polls = (nulls.get(id) ?? 0) + 1
            if (polls < NULL_POLLS) {
              nulls.set(id, polls)
              return
            }
            nulls.delete(id)
            stats.missing++
          } else if (typeof item === 'string') deadLetter(item, body)
          else if (item.id !== id) deadLetter(`/item/${id}.json answered item ${show(item.id)}`, body)
          else {
            stats.items++
            if (readable(item)) {
              watch(item)
              // Stories and polls carry `descendants`; a comment's replies are only counted as they come.
              if (item.type !== 'comment') readAt.set(itemId(item.id), Date.now())
              if (readAt.size > WATCHED) readAt.delete(readAt.keys().next().value!)
            }
            pass(eventsOf(item), id)
          }
          last = next = id
          high = Math.max(high, id)
          overlap.dropWhile((at) => at <= id - OVERLAP_ITEMS)
        }
        save(false)
      }
    }

    /** Items read here that changed: new points are likes, a deleted or killed item a deletion. */
    const readUpdates = async () => {
      const body = await get('/updates.json')
      const items = (body as { items?: unknown } | null)?.items
      if (!Array.isArray(items)) return deadLetter(`/updates.json: expected {"items": [...]}, got ${show(body)}`, body)
      const changed = items.filter((id): id is number => typeof id === 'number' && watched.has(id))
      for (let i = 0; i < changed.length && !stopped; i += CONCURRENCY) {
        const part = changed.slice(i, i + CONCURRENCY)
        const answers = await Promise.all(part.map(getItem))
        for (const [j, answer] of answers.entries()) {
          const id = part[j]!
          const raw = 'body' in answer ? answer.body : answer.broken
          const item = 'body' in answer ? checkItem(raw) : answer.broken
          if (typeof item === 'string') {
            deadLetter(item, raw)
            continue
          }
          const at = new Date().toISOString()
          // null is "not answered now" (the API does that for items that exist): not a deletion.
          if (item === null) continue
          if (item.deleted || item.dead) {
            watched.delete(id)
            pass([{ kind: 'delete', postId: itemId(id), at }], id)
            continue
          }
          const before = watched.get(id) ?? 0
          const points = item.score ?? before
          if (points > before)
            pass(
              [
                {
                  kind: 'engagement',
                  update: {
                    id: `${itemId(id)}#points:${points}`,
                    postId: itemId(id),
                    at,
                    delta: { ...ZERO, likes: points - before },
                  },
                },
              ],
              id,
            )
          watch(item)
        }
      }
    }

    const poll = async () => {
      stats.polls++
      const max = await get('/maxitem.json')
      if (!Number.isSafeInteger(max) || (max as number) < 0)
        throw new Error(`/maxitem.json: expected an item id, got ${show(max)}`)
      await readNew(max as number)
      await readUpdates()
    }

    const loop = () => {
      poll().then(
        () => {
          failures = 0
          if (!stats.connected) stats.since = Date.now()
          stats.connected = true
          if (!stopped) timer = setTimeout(loop, options.pollMs ?? POLL_MS)
        },
        (error: unknown) => {
          if (stopped) return
          stats.errors++
          if (stats.connected) stats.since = Date.now()
          stats.connected = false
          stats.lastError = (error as Error).message
          // Items already read are kept (`last` moved over them); the next poll goes on from there.
          timer = setTimeout(loop, Math.min(backoff.maxMs, backoff.initialMs * 2 ** failures++))
        },
      )
    }

    loop()
    return () => {
      stopped = true
      clearTimeout(timer)
      http.close()
      save(true)
    }
  })
}
