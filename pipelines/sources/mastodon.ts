// The Mastodon source: one instance's streaming API over a WebSocket (`public`, `public:local` or a
// hashtag), with the REST timeline filling any gap. Every (re)connect opens the stream and pages
// the timeline forward (`min_id`) from a minute before the newest status read: statuses from other
// servers get ids from their own creation time and can arrive late, and a crash may have lost what
// was on its way to the store; what comes twice is passed on once. The saved id only moves over
// statuses read without a hole. A backfill that fails (an HTTP error, 429 included) is retried on
// its own, honouring the server's rate-limit reset, while the stream goes on.
import { Observable } from 'rxjs'
import type { SourceEvent } from '../schema.ts'
import type { DeadLetter } from '../sinks/deadletter.ts'
import { RecentKeys } from '../sinks/recent-keys.ts'
import type { CursorFile } from './cursor-file.ts'
import { HttpError, httpClient } from './http.ts'
import { newerId, readStreamMessage, readTimelinePage, statusId } from './mastodon/parse.ts'
import { isMastodonCursor, type MastodonCursor, rewind } from './mastodon/cursor.ts'
import { type MastodonStream, streamParts } from './mastodon/streams.ts'
import { OverlapKeys, passOnce } from './once.ts'
import { keptSocket } from './socket.ts'

/** Statuses per REST page: the API's maximum. */
export const PAGE_LIMIT = 40
/** Pages read in one go (Mastodon allows 300 requests in 5 minutes); a longer gap goes on after a pause. */
export const PAGES_PER_ROUND = 50
export const ROUND_PAUSE_MS = 1_000
/** Statuses read from the timeline, with when: their reply counts already hold the replies made before. */
export const FETCHED_CAPACITY = 100_000
/** Keys kept for a clean stop's overlap, at most. */
export const MAX_OVERLAP_KEYS = 20_000
/** The longest wait a rate limit may ask for before the backfill tries again. */
export const MAX_RATE_LIMIT_WAIT_MS = 15 * 60_000
export const DEDUPE_CAPACITY = 100_000
export const SAVE_EVERY_MS = 1_000

export interface MastodonStats {
  connects: number
  frames: number
  events: number
  duplicates: number
  malformed: number
  backfilled: number
  /** Backfill requests that failed, and how many of those were rate limits. */
  backfillFailures: number
  rateLimited: number
  errors: number
  lastError?: string
  /** Whether the stream is open now, and since when (epoch ms; for /readyz). */
  connected: boolean
  since: number
}
export const newMastodonStats = (): MastodonStats => ({
  connects: 0,
  frames: 0,
  events: 0,
  duplicates: 0,
  malformed: 0,
  backfilled: 0,
  backfillFailures: 0,
  rateLimited: 0,
  errors: 0,
  connected: false,
  since: Date.now(),
})

export interface MastodonOptions {
  /** The instance, e.g. https://mastodon.social. */
  url: string
  token?: string
  stream: MastodonStream
  deadLetter: DeadLetter
  cursorFile?: CursorFile<MastodonCursor>
  backoff?: { initialMs: number; maxMs: number }
  pingMs?: number
  stats?: MastodonStats
}

export function mastodonSource(options: MastodonOptions): Observable<SourceEvent> {
  const stats = options.stats ?? newMastodonStats()
  const base = new URL(options.url)
  const host = base.host
  const parts = streamParts(options.stream)
  const auth: Record<string, string> = options.token ? { Authorization: `Bearer ${options.token}` } : {}
  const backoff = options.backoff ?? { initialMs: 1_000, maxMs: 60_000 }
  return new Observable<SourceEvent>((subscriber) => {
    const loaded = options.cursorFile?.load(isMastodonCursor)
    // `saved`: on disk, everything up to it read. `newest`: the newest status seen at all.
    let saved = loaded?.newestId
    let newest = saved
    let firstId = loaded?.firstId ?? saved
    let stopped = false
    let savedAt = 0
    // The streaming server: the instance itself, unless it names another (configuration.urls.streaming).
    let streaming = new URL(base)
    const http = httpClient()
    const seen = new RecentKeys(DEDUPE_CAPACITY)
    // Keys passed on within the overlap, with their status ids: kept at a clean stop.
    const overlap = new OverlapKeys<string>(loaded?.recent ?? [], MAX_OVERLAP_KEYS)
    for (const [key] of loaded?.recent ?? []) seen.add(key)
    // Statuses deleted here, in case the timeline hands one over after the stream said so.
    const deleted = new RecentKeys(DEDUPE_CAPACITY)
    const fetchedAt = new Map<string, number>()

    const save = (final: boolean) => {
      if (!options.cursorFile || saved === undefined) return
      const now = Date.now()
      if (!final && now - savedAt < SAVE_EVERY_MS) return
      savedAt = now
      try {
        options.cursorFile.save({
          newestId: saved,
          ...(firstId !== undefined ? { firstId } : {}),
          ...(final ? { recent: overlap.entries() } : {}),
        })
      } catch (error) {
        stats.lastError = `cannot save the cursor: ${(error as Error).message}`
      }
    }

    const pass = (events: SourceEvent[], statusId: string) => {
      const fresh = events.filter((e) => {
        if (e.kind === 'delete') deleted.add(e.postId)
        if (e.kind === 'post' && deleted.has(e.post.id)) return false
        // A parent read from the timeline already counted the replies made before it was read.
        if (
          e.kind === 'engagement' &&
          e.update.id.endsWith('#reply') &&
          Date.parse(e.update.at) <= (fetchedAt.get(e.update.postId) ?? -1)
        )
          return false
        return true
      })
      // Bounded (MAX_OVERLAP_KEYS) even while a stuck gap holds the saved id back.
      passOnce(
        fresh,
        seen,
        (e) => subscriber.next(e),
        stats,
        (key) => overlap.add(key, statusId),
      )
      if (saved !== undefined) {
        const floor = BigInt(rewind(saved))
        overlap.dropWhile((id) => BigInt(id) < floor)
      }
    }

    const deadLetter = (reason: string, payload: unknown) => {
      stats.malformed++
      options.deadLetter.record(
        'mastodon',
        reason,
        typeof payload === 'string' && payload.length > 65_536 ? `${payload.slice(0, 65_536)}…` : payload,
      )
    }

    // ---- the gap: paged forward from `from`, on its own timer, while the stream goes on ----
    let filling = false
    let fillFrom: string | undefined
    let fillTimer: NodeJS.Timeout | undefined
    let fillFailures = 0

    const fillRound = async () => {
      for (let page = 0; page < PAGES_PER_ROUND; page++) {
        const url = new URL(parts.timeline, base)
        url.searchParams.set('min_id', fillFrom!)
        url.searchParams.set('limit', String(PAGE_LIMIT))
        if (parts.local) url.searchParams.set('local', 'true')
        const text = await http.text(url, auth)
        if (stopped) return 'stopped'
        let body: unknown
        try {
          body = JSON.parse(text)
        } catch {
          throw new Error(`${url.pathname} answered something other than JSON`)
        }
        const page = readTimelinePage(body, host, url.pathname)
        const readAt = Date.now()
        for (const item of page.items) {
          if (!item.ok) {
            deadLetter(item.reason, item.payload)
            continue
          }
          stats.backfilled++
          fetchedAt.set(statusId(host, item.status.id), readAt)
          if (fetchedAt.size > FETCHED_CAPACITY) fetchedAt.delete(fetchedAt.keys().next().value!)
          pass(item.events, item.status.id)
        }
        const pageNewest = page.newestId
        if (pageNewest === undefined || BigInt(pageNewest) <= BigInt(fillFrom!)) return 'done'
        fillFrom = pageNewest
        // Everything up to here is read: the saved id may move, never past what the stream has seen.
        if (saved === undefined || BigInt(pageNewest) > BigInt(saved)) saved = pageNewest
        save(false)
        if (page.items.length < PAGE_LIMIT) return 'done'
      }
      return 'more'
    }

    const fill = () => {
      fillTimer = undefined
      fillRound().then(
        (outcome) => {
          if (outcome === 'stopped' || stopped) return
          fillFailures = 0
          if (outcome === 'more') {
            fillTimer = setTimeout(fill, ROUND_PAUSE_MS)
            return
          }
          filling = false
          saved = newerId(saved, newest)
          save(true)
        },
        (error: unknown) => {
          if (stopped) return
          stats.backfillFailures++
          stats.errors++
          stats.lastError = `backfill: ${(error as Error).message}`
          const limited = error instanceof HttpError && error.status === 429
          if (limited) stats.rateLimited++
          const backedOff = Math.min(backoff.maxMs, backoff.initialMs * 2 ** fillFailures)
          // A reset already past (clocks differ) is no reason to ask again at once.
          const wait =
            limited && error.retryAt
              ? Math.min(MAX_RATE_LIMIT_WAIT_MS, Math.max(backedOff, error.retryAt - Date.now()))
              : backedOff
          fillFailures++
          fillTimer = setTimeout(fill, wait)
        },
      )
    }

    /** After a connect: fill from a minute before the saved id (or go on with a fill under way). */
    const startFill = () => {
      if (saved === undefined || filling) return
      filling = true
      // min_id is exclusive: from just before the first status read at the earliest.
      const start = BigInt(rewind(saved))
      const first = firstId === undefined ? 0n : BigInt(firstId) - 1n
      fillFrom = String(start > first ? start : first)
      fill()
    }

    const onFrame = (text: string): boolean => {
      stats.frames++
      let reading: ReturnType<typeof readStreamMessage>
      try {
        reading = readStreamMessage(text, host, new Date())
      } catch (error) {
        deadLetter(`could not be read: ${(error as Error).message}`, text)
        return true
      }
      if (!reading.ok && reading.serverError) {
        // Mastodon keeps the socket open with nothing subscribed after a refusal: start again.
        stats.errors++
        stats.lastError = reading.reason
        socket.reconnect()
        return false
      }
      if (!reading.ok) {
        deadLetter(reading.reason, text)
        return true
      }
      pass(reading.events, reading.newestId ?? newest ?? '0')
      newest = newerId(newest, reading.newestId)
      if (firstId === undefined && reading.newestId !== undefined) firstId = reading.newestId
      // While a gap is being filled, the stream is ahead of what is read without holes.
      if (!filling && newest !== undefined) {
        saved = newest
        save(false)
      }
      return true
    }

    const socket = keptSocket({
      url: () => {
        const url = new URL('/api/v1/streaming', streaming)
        url.protocol = streaming.protocol === 'https:' || streaming.protocol === 'wss:' ? 'wss:' : 'ws:'
        for (const [k, v] of Object.entries(parts.query)) url.searchParams.set(k, v)
        return url.toString()
      },
      headers: auth,
      ...(options.pingMs ? { pingMs: options.pingMs } : {}),
      ...(options.backoff ? { backoff: options.backoff } : {}),
      onOpen: () => {
        stats.connects++
        stats.connected = true
        stats.since = Date.now()
        startFill()
      },
      onFrame,
      onClose: () => {
        if (stats.connected) stats.since = Date.now()
        stats.connected = false
        save(true)
      },
      onError: (message) => {
        stats.errors++
        stats.lastError = message
      },
    })

    // Large instances stream from a host of their own (mastodon.social: streaming.mastodon.social).
    http.text(new URL('/api/v2/instance', base), auth).then(
      (text) => {
        let named: unknown
        try {
          named = (JSON.parse(text) as { configuration?: { urls?: { streaming?: unknown } } })?.configuration?.urls
            ?.streaming
        } catch {
          return // not JSON (a proxy's page): stream from the instance itself
        }
        if (stopped || typeof named !== 'string' || !/^wss?:\/\/[^/\s]+\/?$/.test(named)) return
        const next = new URL(named.replace(/^ws/, 'http'))
        if (next.origin !== streaming.origin) {
          streaming = next
          socket.reconnect()
        }
      },
      () => {}, // an instance without v2 (before 4.0) streams from itself
    )

    return () => {
      stopped = true
      clearTimeout(fillTimer)
      http.close()
      socket.close()
      save(true)
    }
  })
}
