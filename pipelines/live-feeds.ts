// The live figures, one row each: what one push carries, the socket.io event it goes out as, and the
// part of a wall's snapshot that holds what was pushed lately. The fan-out, the relay between
// processes, the socket.io sink and its memory, the snapshot and the wall's subscriptions all read
// this table, so a new live figure is a row here, its producer (stages/live.ts) and its tile.
// The wall bundles this module: it imports types only.
import type { AlertChange } from './metrics/alerting.ts'
import type {
  BrandMetrics,
  Dialogue,
  Responsiveness,
  RiskReading,
  ScoredPost,
  ServerToClientEvents,
  Snapshot,
  WindowAggregate,
} from './schema.ts'

/** What one push of each feed carries. */
export interface FeedValues {
  windows: WindowAggregate[]
  posts: ScoredPost[]
  metrics: BrandMetrics[]
  risk: RiskReading[]
  responsiveness: Responsiveness[]
  dialogue: Dialogue[]
  alert: AlertChange
  /** The posts routed to one team (transforms/route.ts) lately: to that team's room only. */
  teamPosts: { team: string; posts: ScoredPost[] }
}
export type FeedName = keyof FeedValues

type WireEvent = keyof ServerToClientEvents
/** A push as it goes on the wire: the event, its payload, and the room it is for (none: every wall). */
export type Wired = { event: WireEvent; payload: unknown; room?: string }

interface Feed<F extends FeedName> {
  /** The events a push may go out as (schema.ts ServerToClientEvents). */
  events: readonly WireEvent[]
  /** This push on the wire. */
  wire(value: FeedValues[F]): Wired
  /** The snapshot's part that holds what was pushed lately; none: a wall that connects is not sent it. */
  snapshot?: keyof Snapshot
}

/** The socket.io room of a team's feed; a client joins it with `?team=<name>` on connect. */
export const teamRoom = (team: string) => `team:${team}`

export const LIVE_FEEDS = {
  windows: {
    events: ['aggregates.updated.v1'],
    wire: (windows) => ({ event: 'aggregates.updated.v1', payload: windows }),
    snapshot: 'aggregates',
  },
  posts: {
    events: ['posts.added.v1'],
    wire: (posts) => ({ event: 'posts.added.v1', payload: posts }),
    snapshot: 'recentPosts',
  },
  metrics: {
    events: ['metrics.updated.v1'],
    wire: (metrics) => ({ event: 'metrics.updated.v1', payload: metrics }),
    snapshot: 'metrics',
  },
  risk: {
    events: ['risk.updated.v1'],
    wire: (readings) => ({ event: 'risk.updated.v1', payload: readings }),
    snapshot: 'risk',
  },
  responsiveness: {
    events: ['responsiveness.updated.v1'],
    wire: (brands) => ({ event: 'responsiveness.updated.v1', payload: brands }),
    snapshot: 'responsiveness',
  },
  dialogue: {
    events: ['dialogue.updated.v1'],
    wire: (brands) => ({ event: 'dialogue.updated.v1', payload: brands }),
    snapshot: 'dialogue',
  },
  alert: {
    events: ['alert.raised.v1', 'alert.updated.v1'],
    wire: (change) => ({
      event: change.kind === 'raised' ? 'alert.raised.v1' : 'alert.updated.v1',
      payload: change.alert,
    }),
    snapshot: 'alerts',
  },
  teamPosts: {
    events: ['team.posts.v1'],
    wire: (feed) => ({ event: 'team.posts.v1', payload: feed, room: teamRoom(feed.team) }),
  },
} as const satisfies { readonly [F in FeedName]: Feed<F> }

export const FEED_NAMES = Object.keys(LIVE_FEEDS) as FeedName[]

type Feeds = typeof LIVE_FEEDS
/** The events of the feeds every wall is sent (those with a part in the snapshot): what a wall subscribes to. */
export type WallEvent = {
  [F in FeedName]: Feeds[F] extends { snapshot: string } ? Feeds[F]['events'][number] : never
}[FeedName]
