// The table of live feeds drives the relay between processes, the socket.io sink and the memory a
// wall's snapshot is built from: every feed goes through each of them.
import { describe, expect, it } from 'vitest'
import type { Live } from '../../pipelines/contract.ts'
import { FEED_NAMES, type FeedName, type FeedValues, LIVE_FEEDS, teamRoom } from '../../pipelines/live-feeds.ts'
import { fanOut } from '../../pipelines/sinks/fan-out.ts'
import { LiveView, RECENT_ALERTS } from '../../pipelines/sinks/live-memory.ts'
import { liveRelay, receiveLive, type ServerSide } from '../../pipelines/sinks/relay.ts'
import { SocketIoSink } from '../../pipelines/sinks/socketio.ts'

const minute = '2026-11-30T08:00:00.000Z'
const post = { id: 'p1', createdAt: '2026-11-30T08:00:30.000Z', brands: ['Lumen'] }
const alert = (id: string, state = 'open') => ({ id, brand: 'Lumen', state, at: minute })
/** One push of every feed (only the fields the memory keys on matter here). */
const SAMPLES = {
  windows: [{ brand: 'Lumen', minute, posts: 3 }],
  posts: [post],
  metrics: [{ brand: 'Lumen', source: 'all', window: '1m', posts: 3 }],
  risk: [{ brand: 'Lumen', score: 12 }],
  responsiveness: [{ brand: 'Lumen', waiting: 2 }],
  dialogue: [{ brand: 'Lumen', threads: 1 }],
  alert: { kind: 'raised', alert: alert('a1') },
  teamPosts: { team: 'support', posts: [post] },
} as unknown as FeedValues

/** Two socket.io servers joined by an adapter, as far as the relay sees them: what one emits, the other hears. */
function joined(): { live: ServerSide; web: ServerSide } {
  const listeners = new Map<string, (...args: never[]) => void>()
  const side: ServerSide = {
    serverSideEmit: (event, ...args) => {
      ;(listeners.get(event) as ((...a: unknown[]) => void) | undefined)?.(...args)
      return true
    },
    serverSideEmitWithAck: async () => [],
    on: (event, listener) => listeners.set(event, listener),
  }
  return { live: side, web: side }
}

function recorder() {
  const got: { feed: FeedName; value: unknown }[] = []
  const live: Live = { push: (feed, value) => void got.push({ feed, value }) }
  return { got, live }
}

describe('the live feeds', () => {
  it('relays every feed from the live process to a web process unchanged, and refuses an unknown one', () => {
    const { live, web } = joined()
    const { got, live: sink } = recorder()
    const errors: unknown[] = []
    receiveLive(web, sink, (e) => errors.push(e))
    const relay = liveRelay(live)
    for (const feed of FEED_NAMES) relay.push(feed, SAMPLES[feed])
    expect(got).toEqual(FEED_NAMES.map((feed) => ({ feed, value: SAMPLES[feed] })))
    live.serverSideEmit('undertow:live', 'themes', [])
    expect(errors).toEqual([new Error('a live push of an unknown kind (themes) was ignored')])
    expect(got).toHaveLength(FEED_NAMES.length)
  })

  it('sends every feed to the walls as its wire event, a team feed to its room only', () => {
    const sent: { room?: string; event: string; payload: unknown }[] = []
    const io = {
      emit: (event: string, payload: unknown) => sent.push({ event, payload }) > 0,
      to: (room: string) => ({ emit: (event: string, payload: unknown) => sent.push({ room, event, payload }) > 0 }),
    }
    const sink = new SocketIoSink(io as never, new LiveView())
    for (const feed of FEED_NAMES) fanOut([sink], (e) => expect.fail(String(e))).push(feed, SAMPLES[feed])
    sink.push('alert', { kind: 'updated', alert: alert('a1', 'resolved') } as never)
    expect(sent).toEqual([
      { event: 'aggregates.updated.v1', payload: SAMPLES.windows },
      { event: 'posts.added.v1', payload: SAMPLES.posts },
      { event: 'metrics.updated.v1', payload: SAMPLES.metrics },
      { event: 'risk.updated.v1', payload: SAMPLES.risk },
      { event: 'responsiveness.updated.v1', payload: SAMPLES.responsiveness },
      { event: 'dialogue.updated.v1', payload: SAMPLES.dialogue },
      { event: 'alert.raised.v1', payload: SAMPLES.alert.alert },
      { room: teamRoom('support'), event: 'team.posts.v1', payload: SAMPLES.teamPosts },
      { event: 'alert.updated.v1', payload: alert('a1', 'resolved') },
    ])
    // Each event sent is one its feed's row names.
    for (const s of sent)
      expect(Object.values(LIVE_FEEDS).some((row) => row.events.includes(s.event as never))).toBe(true)
  })

  it('keeps each feed with a snapshot part for the walls that connect later, the latest per key', () => {
    const view = new LiveView()
    for (const feed of FEED_NAMES) view.take(feed, SAMPLES[feed])
    view.take('risk', [{ brand: 'Lumen', score: 40 }] as never)
    view.take('alert', { kind: 'updated', alert: alert('a1', 'acknowledged') } as never)
    const parts = view.parts()
    const withPart = FEED_NAMES.filter((feed) => 'snapshot' in LIVE_FEEDS[feed])
    expect(Object.keys(parts).sort()).toEqual(
      withPart.map((feed) => (LIVE_FEEDS[feed] as { snapshot: string }).snapshot).sort(),
    )
    expect(parts.risk).toEqual([{ brand: 'Lumen', score: 40 }])
    expect(parts.alerts).toEqual([alert('a1', 'acknowledged')])
    expect(parts.recentPosts).toEqual(SAMPLES.posts)
    expect(view.watermark()).toBe(post.createdAt)
  })

  it('lets resolved alerts go past RECENT_ALERTS, never open ones', () => {
    const view = new LiveView()
    view.applyAlert(alert('open') as never)
    for (let i = 0; i < RECENT_ALERTS + 5; i++) view.applyAlert(alert(`r${i}`, 'resolved') as never)
    const ids = view.recentAlerts().map((a) => a.id)
    expect(ids).toHaveLength(RECENT_ALERTS)
    expect(ids[0]).toBe('open')
  })
})
