// The wall's subscriptions: a line for each live event every wall is sent (pipelines/live-feeds.ts,
// WallEvent). The map is exhaustive: a feed added to the table does not compile until the wall takes it.
import type { WallEvent } from '../../../pipelines/live-feeds.ts'
import type { ServerToClientEvents } from '../../../pipelines/schema.ts'
import { on, type WallSocket } from './socket.ts'
import type { Wall } from './wall.svelte.ts'

/** Subscribes the wall to every live feed; returns the unsubscribe functions. */
export function takeFeeds(socket: WallSocket, wall: Wall): (() => void)[] {
  const take: { [E in WallEvent]: ServerToClientEvents[E] } = {
    'aggregates.updated.v1': (windows) => wall.applyWindows(windows),
    'posts.added.v1': (posts) => wall.addPosts(posts),
    'metrics.updated.v1': (metrics) => wall.applyMetrics(metrics),
    'risk.updated.v1': (readings) => wall.applyRisk(readings),
    'responsiveness.updated.v1': (brands) => wall.applyResponsiveness(brands),
    'dialogue.updated.v1': (brands) => wall.applyDialogue(brands),
    'alert.raised.v1': (alert) => wall.applyAlert(alert),
    'alert.updated.v1': (alert) => wall.applyAlert(alert),
  }
  return (Object.keys(take) as WallEvent[]).map((event) => on(socket, event, take[event] as never))
}
