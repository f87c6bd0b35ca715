// The Bluesky source: Jetstream over a WebSocket, v1 (`/subscribe`) or v2 (`/xrpc/network.bsky.
// jetstream.subscribeEvents`). Posts, likes, reposts, replies, quotes and deletes of posts arrive
// as Undertow events (jetstream/parse.ts). The place in the stream is saved to disk as it moves, so
// a dropped connection or a restart resumes from there. Both versions resume from a time, some
// seconds early, and drop what comes twice by record URI: Jetstream asks clients to overlap, a
// time means the same on every Jetstream instance (v2's sequence numbers belong to one), and the
// overlap covers events read but still on their way to the store when the process died. A
// dropped connection is retried with capped exponential backoff; a malformed frame is
// dead-lettered and the stream goes on.
import { Observable } from 'rxjs'
import type { SourceEvent } from '../schema.ts'
import type { DeadLetter } from '../sinks/deadletter.ts'
import { RecentKeys } from '../sinks/recent-keys.ts'
import type { CursorFile } from './cursor-file.ts'
import { OverlapKeys, passOnce } from './once.ts'
import { keptSocket } from './socket.ts'
import { COLLECTIONS, type Frame, type JetstreamEvent, parseV1, parseV2, readEvent } from './jetstream/parse.ts'

export const JETSTREAM_V1_URL = 'wss://jetstream2.us-east.bsky.network/subscribe'
/** Resumes start this far before the saved cursor; the store drops what was stored already. */
export const OVERLAP_MS = 10_000
/** Record URIs remembered to drop what an overlap sends again. */
export const DEDUPE_CAPACITY = 100_000
/** DIDs whose handles identity events told, newest kept. */
export const HANDLES_CAPACITY = 100_000
/** Events bigger than this are skipped by Jetstream itself (`maxMessageSizeBytes`). */
export const MAX_MESSAGE_BYTES = 1_000_000
/** The cursor is saved at most this often while events flow, and once more at the end. */
export const SAVE_EVERY_MS = 1_000

/**
 * Where the stream was: Jetstream's time (unix µs) of the last event read. A clean stop also keeps
 * the keys and times of the events read within the overlap, so what the rewind sends again after
 * a restart is dropped here too (after a crash, the store drops it).
 */
export interface JetstreamCursor {
  timeUs: number
  /** The time of the first event read: a rewind never goes before where the stream began. */
  firstUs?: number
  recent?: [key: string, timeUs: number][]
}
export const isCursor = (v: unknown): v is JetstreamCursor => {
  const c = v as JetstreamCursor
  return (
    typeof v === 'object' &&
    v !== null &&
    Number.isSafeInteger(c.timeUs) &&
    (c.firstUs === undefined || Number.isSafeInteger(c.firstUs)) &&
    (c.recent === undefined ||
      (Array.isArray(c.recent) &&
        c.recent.every((r) => Array.isArray(r) && typeof r[0] === 'string' && Number.isSafeInteger(r[1]))))
  )
}

export interface JetstreamStats {
  connects: number
  frames: number
  events: number
  duplicates: number
  malformed: number
  /** v2 error frames (the server ending the stream) and socket errors. */
  serverErrors: number
  /** The last v2 #info frame (OutdatedCursor, FutureCursor). */
  lastInfo?: string
  lastError?: string
  /** Whether a connection is open now, and since when (epoch ms; for /readyz). */
  connected: boolean
  since: number
}

export interface JetstreamOptions {
  /** The endpoint, path included: `wss://host/subscribe` (v1) or `wss://host/xrpc/network.bsky.jetstream.subscribeEvents` (v2). */
  url: string
  version: 1 | 2
  deadLetter: DeadLetter
  /** Only these accounts' events (`wantedDids` / `dids`); all when empty. */
  dids?: readonly string[]
  cursorFile?: CursorFile<JetstreamCursor>
  overlapMs?: number
  backoff?: { initialMs: number; maxMs: number }
  pingMs?: number
  stats?: JetstreamStats
}

export const newJetstreamStats = (): JetstreamStats => ({
  connects: 0,
  frames: 0,
  events: 0,
  duplicates: 0,
  malformed: 0,
  serverErrors: 0,
  connected: false,
  since: Date.now(),
})

/** The subscription URL for a cursor, with the filters each version names its own way. */
export function subscribeUrl(
  options: Pick<JetstreamOptions, 'url' | 'version' | 'dids' | 'overlapMs'>,
  cursor: JetstreamCursor | undefined,
): string {
  const url = new URL(options.url)
  const add = (key: string, values: readonly string[]) => values.forEach((v) => url.searchParams.append(key, v))
  if (options.version === 1) {
    add('wantedCollections', COLLECTIONS)
    add('wantedDids', options.dids ?? [])
  } else {
    add('kinds', ['commit', 'identity'])
    add('collections', COLLECTIONS)
    add('dids', options.dids ?? [])
  }
  url.searchParams.set('maxMessageSizeBytes', String(MAX_MESSAGE_BYTES))
  if (cursor) {
    // v2 reads a cursor of 1e15 and up as a time, as v1 reads every cursor; a time cursor older
    // than what the instance keeps starts at its oldest event (v2 says so in an #info frame).
    const rewound = Math.max(1e15, cursor.firstUs ?? 1, cursor.timeUs - (options.overlapMs ?? OVERLAP_MS) * 1000)
    url.searchParams.set('cursor', String(rewound))
  }
  return url.toString()
}

export function jetstreamSource(options: JetstreamOptions): Observable<SourceEvent> {
  const stats = options.stats ?? newJetstreamStats()
  const parse: (text: string) => Frame = options.version === 1 ? parseV1 : parseV2
  return new Observable<SourceEvent>((subscriber) => {
    const saved = options.cursorFile?.load(isCursor)
    let cursor: JetstreamCursor | undefined = saved && { timeUs: saved.timeUs, firstUs: saved.firstUs ?? saved.timeUs }
    const overlapUs = (options.overlapMs ?? OVERLAP_MS) * 1000
    let savedAt = 0
    const seen = new RecentKeys(DEDUPE_CAPACITY)
    // The keys read within the overlap: what a rewind after a stop would send again.
    const overlap = new OverlapKeys<number>(saved?.recent ?? [])
    for (const [key] of saved?.recent ?? []) seen.add(key)
    const handles = new Map<string, string>()

    const save = (final: boolean) => {
      if (!options.cursorFile || !cursor) return
      const now = Date.now()
      if (!final && now - savedAt < SAVE_EVERY_MS) return
      savedAt = now
      try {
        options.cursorFile.save(final ? { ...cursor, recent: overlap.entries() } : cursor)
      } catch (error) {
        // A cursor that cannot be saved costs a longer replay after a restart, not the stream.
        stats.lastError = `cannot save the cursor: ${(error as Error).message}`
      }
    }

    const take = (event: JetstreamEvent) => {
      if (event.handle) {
        handles.delete(event.did)
        handles.set(event.did, event.handle)
        if (handles.size > HANDLES_CAPACITY) handles.delete(handles.keys().next().value!)
      }
      const reading = readEvent(event, (did) => handles.get(did))
      if ('error' in reading) {
        stats.malformed++
        options.deadLetter.record('jetstream', reading.error, event)
      } else {
        passOnce(
          reading.events,
          seen,
          (e) => subscriber.next(e),
          stats,
          (key) => overlap.add(key, event.timeUs),
        )
      }
      // A rewound v1 stream replays older times first: the cursor never moves back.
      cursor = { timeUs: Math.max(event.timeUs, cursor?.timeUs ?? 0), firstUs: cursor?.firstUs ?? event.timeUs }
      const floor = cursor.timeUs - overlapUs
      overlap.dropWhile((at) => at < floor)
      save(false)
    }

    const deadLetter = (reason: string, text: string) => {
      stats.malformed++
      options.deadLetter.record('jetstream', reason, text.length > 65_536 ? `${text.slice(0, 65_536)}…` : text)
    }

    const read = (text: string) => {
      const frame = parse(text)
      if (frame.ok) {
        if (frame.event) take(frame.event)
        else if (frame.info) stats.lastInfo = frame.info
        return
      }
      if (frame.fatal) {
        // v2 ends the stream with an error frame (ConsumerTooSlow): resume from the cursor.
        stats.serverErrors++
        stats.lastError = frame.reason
        socket.reconnect()
        return
      }
      deadLetter(frame.reason, text)
    }

    const onFrame = (text: string) => {
      stats.frames++
      try {
        read(text)
      } catch (error) {
        // Whatever a frame holds, it costs that frame, never the stream.
        deadLetter(`could not be read: ${(error as Error).message}`, text)
      }
    }

    const socket = keptSocket({
      url: () => subscribeUrl(options, cursor),
      maxPayload: 4 * MAX_MESSAGE_BYTES,
      ...(options.pingMs ? { pingMs: options.pingMs } : {}),
      ...(options.backoff ? { backoff: options.backoff } : {}),
      onOpen: () => {
        stats.connects++
        stats.connected = true
        stats.since = Date.now()
      },
      onFrame,
      onClose: () => {
        if (stats.connected) stats.since = Date.now()
        stats.connected = false
        save(true)
      },
      onError: (message) => {
        stats.serverErrors++
        stats.lastError = message
      },
    })
    return () => {
      socket.close()
      save(true)
    }
  })
}
