// Posts to take out of the store because their authors deleted them. Purges run one at a time; one
// that fails (the store unreachable) is tried again with the next, and what waits is bounded.
import type { Store } from '../store/store.ts'

/** Most posts waiting for a purge that failed; past it the oldest are given up, and counted. */
export const MAX_PENDING_PURGES = 100_000

export interface PurgeStats {
  deleted: number
  purgeFailures: number
  purgesGivenUp: number
}

export class Purge {
  /** Post id -> its creation time and when it was queued (a newer queuing outlives an older purge). */
  private readonly pending = new Map<string, { createdAt: string; queued: number }>()
  private queued = 0
  private running: Promise<void> = Promise.resolve()

  constructor(
    private readonly store: Pick<Store, 'deletePosts'>,
    private readonly stats: PurgeStats,
  ) {}

  /** Queues these posts (id and creation time, which bounds the purge's scan) and purges. */
  remove(posts: readonly { id: string; createdAt: string }[]): Promise<void> {
    for (const p of posts) {
      this.pending.delete(p.id)
      this.pending.set(p.id, { createdAt: p.createdAt, queued: ++this.queued })
    }
    while (this.pending.size > MAX_PENDING_PURGES) {
      this.pending.delete(this.pending.keys().next().value!)
      this.stats.purgesGivenUp++
    }
    this.running = this.running.then(() => this.purge())
    return this.running
  }

  private async purge(): Promise<void> {
    if (this.pending.size === 0) return
    const batch = [...this.pending].map(([id, p]) => ({ id, createdAt: p.createdAt, queued: p.queued }))
    try {
      this.stats.deleted += await this.store.deletePosts(batch)
      // Queued again while this purge ran (stored meanwhile, say): it waits for the next one.
      for (const p of batch) if (this.pending.get(p.id)?.queued === p.queued) this.pending.delete(p.id)
    } catch {
      this.stats.purgeFailures++
    }
  }
}
