// The live sink: pushes changed windows and new posts to every connected wall, and remembers the
// recent ones (bounded) so a wall that connects gets them in its snapshot.
import type { ScoredPost, ServerToClientEvents, WindowAggregate } from '../schema.ts'
import { EVENTS } from '../schema.ts'

/** Posts kept for the ticker of a newly connected wall. */
export const RECENT_POSTS = 50
/** Per-brand minutes of live windows kept for snapshots. */
export const LIVE_MINUTES = 60

/** The part of a socket.io Server this sink uses (io.emit broadcasts to every client). */
export interface Broadcaster {
  emit<E extends keyof ServerToClientEvents>(event: E, ...args: Parameters<ServerToClientEvents[E]>): boolean
}

/** What has been pushed live lately, for snapshots. Shared by the sink and the server. */
export class LiveView {
  private readonly windows = new Map<string, WindowAggregate>()
  private posts: ScoredPost[] = []
  private newestMinute = 0
  private newestPost = 0

  applyWindows(windows: readonly WindowAggregate[]): void {
    for (const w of windows) {
      this.windows.set(`${w.brand}|${w.minute}`, w)
      this.newestMinute = Math.max(this.newestMinute, Date.parse(w.minute))
    }
    // The same LIVE_MINUTES minutes as the store's `lastMinutes` query: newest - N < minute <= newest.
    const oldest = this.newestMinute - LIVE_MINUTES * 60_000
    for (const [key, w] of this.windows) if (Date.parse(w.minute) <= oldest) this.windows.delete(key)
  }

  addPosts(posts: readonly ScoredPost[]): void {
    this.posts = [...posts.slice(-RECENT_POSTS).reverse(), ...this.posts].slice(0, RECENT_POSTS)
    for (const p of posts) this.newestPost = Math.max(this.newestPost, Date.parse(p.createdAt))
  }

  /** createdAt of the newest post pushed, or null before the first. */
  watermark(): string | null {
    return this.newestPost > 0 ? new Date(this.newestPost).toISOString() : null
  }

  recentWindows(): WindowAggregate[] {
    return [...this.windows.values()]
  }

  /** Newest first. */
  recentPosts(): ScoredPost[] {
    return [...this.posts]
  }
}

export class SocketIoSink {
  constructor(
    private readonly io: Broadcaster,
    readonly view: LiveView,
  ) {}

  pushWindows(windows: WindowAggregate[]): void {
    this.view.applyWindows(windows)
    this.io.emit(EVENTS.aggregatesUpdated, windows)
  }

  pushPosts(posts: ScoredPost[]): void {
    this.view.addPosts(posts)
    this.io.emit(EVENTS.postsAdded, posts)
  }
}
