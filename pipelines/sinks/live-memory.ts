// What has been pushed live lately, for the snapshot a wall gets on connect: per feed of the table
// (live-feeds.ts), the latest value per key, or the newest items, bounded. Shared by the socket.io
// sink, which feeds it, and the server, which reads it.
import { FEED_NAMES, type FeedName, type FeedValues, LIVE_FEEDS } from '../live-feeds.ts'
import type { Alert, ScoredPost, Snapshot, WindowAggregate } from '../schema.ts'

/** Posts kept for the ticker of a newly connected wall. */
export const SNAPSHOT_POSTS = 50
/** Alerts (their latest states) kept for snapshots. */
export const RECENT_ALERTS = 50
/** Per-brand minutes of live windows kept for snapshots. */
export const LIVE_MINUTES = 60

/** One feed's memory: what it takes of each push, and what a snapshot gets of it. */
interface Memory<F extends FeedName> {
  take(value: FeedValues[F]): void
  current(): unknown[]
}

/** The latest item per key. */
function latestBy<T>(key: (item: T) => string): {
  items: Map<string, T>
  take(value: FeedValues[FeedName]): void
  current(): T[]
} {
  const items = new Map<string, T>()
  return {
    items,
    take: (value) => {
      for (const item of value as unknown as T[]) items.set(key(item), item)
    },
    current: () => [...items.values()],
  }
}

/** The parts of a snapshot that the live memory fills (each feed's `snapshot`). */
export type LiveParts = Pick<
  Snapshot,
  'aggregates' | 'recentPosts' | 'metrics' | 'risk' | 'responsiveness' | 'dialogue' | 'alerts'
>

export class LiveView {
  private newestMinute = 0
  private newestPost = 0
  private posts: ScoredPost[] = []
  private readonly windows = latestBy<WindowAggregate>((w) => `${w.brand}|${w.minute}`)
  private readonly alerts = latestBy<Alert>((a) => a.id)
  private readonly memory: { readonly [F in FeedName]: Memory<F> | undefined } = {
    windows: {
      take: (windows) => {
        this.windows.take(windows)
        for (const w of windows) this.newestMinute = Math.max(this.newestMinute, Date.parse(w.minute))
        // The same LIVE_MINUTES minutes as the store's `lastMinutes` query: newest - N < minute <= newest.
        const oldest = this.newestMinute - LIVE_MINUTES * 60_000
        for (const [key, w] of this.windows.items) if (Date.parse(w.minute) <= oldest) this.windows.items.delete(key)
      },
      current: () => this.windows.current(),
    },
    posts: {
      take: (posts) => {
        this.posts = [...posts.slice(-SNAPSHOT_POSTS).reverse(), ...this.posts].slice(0, SNAPSHOT_POSTS)
        for (const p of posts) this.newestPost = Math.max(this.newestPost, Date.parse(p.createdAt))
      },
      // Newest first.
      current: () => [...this.posts],
    },
    metrics: latestBy((m: FeedValues['metrics'][number]) => `${m.brand}\u0000${m.source}\u0000${m.window}`),
    risk: latestBy((r: FeedValues['risk'][number]) => r.brand),
    responsiveness: latestBy((r: FeedValues['responsiveness'][number]) => r.brand),
    dialogue: latestBy((d: FeedValues['dialogue'][number]) => d.brand),
    alert: {
      take: (change) => this.applyAlert(change.alert),
      current: () => this.alerts.current(),
    },
    // To a team's room only: a wall that connects is not sent it.
    teamPosts: undefined,
  }

  /** One push of a feed, remembered as that feed keeps it. */
  take<F extends FeedName>(feed: F, value: FeedValues[F]): void {
    this.memory[feed]?.take(value)
  }

  /** An alert's latest state (also the open ones read back from the store at start). */
  applyAlert(alert: Alert): void {
    this.alerts.items.delete(alert.id)
    this.alerts.items.set(alert.id, alert)
    // Only resolved ones are let go: an alert still open (at most one a brand) stays in every snapshot.
    for (const [id, a] of this.alerts.items) {
      if (this.alerts.items.size <= RECENT_ALERTS) break
      if (a.state === 'resolved') this.alerts.items.delete(id)
    }
  }

  /** Every feed's part of a snapshot, as pushed lately. */
  parts(): LiveParts {
    const parts: Partial<Record<keyof Snapshot, unknown[]>> = {}
    for (const feed of FEED_NAMES) {
      const row = LIVE_FEEDS[feed] as { snapshot?: keyof Snapshot }
      const memory = this.memory[feed]
      if (row.snapshot && memory) parts[row.snapshot] = memory.current()
    }
    return parts as LiveParts
  }

  /** The latest state of the alerts raised lately, newest change last. */
  recentAlerts(): Alert[] {
    return this.alerts.current()
  }

  /** createdAt of the newest post pushed, or null before the first. */
  watermark(): string | null {
    return this.newestPost > 0 ? new Date(this.newestPost).toISOString() : null
  }
}
