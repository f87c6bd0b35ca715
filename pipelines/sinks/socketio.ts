// The live sink: every push of the feeds table (live-feeds.ts) goes to the connected walls as its
// socket.io event (a team's posts to its room only), and into the live memory (live-memory.ts), so
// that a wall that connects gets what was pushed lately in its snapshot.
import type { Live } from '../contract.ts'
import { type FeedName, type FeedValues, LIVE_FEEDS, type Wired } from '../live-feeds.ts'
import type { ServerToClientEvents } from '../schema.ts'
import type { LiveView } from './live-memory.ts'

type Emit = <E extends keyof ServerToClientEvents>(event: E, ...args: Parameters<ServerToClientEvents[E]>) => boolean

/** The part of a socket.io Server this sink uses (io.emit broadcasts to every client, io.to a room). */
export interface Broadcaster {
  emit: Emit
  to(room: string): { emit: Emit }
}

export class SocketIoSink implements Live {
  constructor(
    private readonly io: Broadcaster,
    readonly view: LiveView,
  ) {}

  push<F extends FeedName>(feed: F, value: FeedValues[F]): void {
    this.view.take(feed, value)
    const wired = (LIVE_FEEDS[feed].wire as (v: FeedValues[F]) => Wired)(value)
    const to = wired.room === undefined ? this.io : this.io.to(wired.room)
    ;(to.emit as (event: string, payload: unknown) => boolean)(wired.event, wired.payload)
  }
}
