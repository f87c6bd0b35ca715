// The live figures with three workers equal one process's, on the same simulated stream: the real
// pipeline in one process, and the same stream through the real bus (nats-server), three workers
// sharing its consumer and the live stage on their records. Both store in a real ClickHouse
// server (a database each), and what they store is compared row for row too: a brand's reply
// linked to its mention, and whether that mention needed a reply, must not depend on which worker
// classified the mention, or when.
import { afterAll, expect, it } from 'vitest'
import { LiveView } from '../../../pipelines/sinks/live-memory.ts'
import type { Live } from '../../../pipelines/contract.ts'
import { LexiconClassifier } from '../../../models/lexicon.ts'
import { type Bus, openBus } from '../../../pipelines/bus/nats.ts'
import { startIngest, startLive, startWorker } from '../../../pipelines/bus/roles.ts'
import type { AlertChange } from '../../../pipelines/metrics/alerting.ts'
import { startPipeline } from '../../../pipelines/pipeline.ts'
import { MemoryDeadLetter } from '../../../pipelines/sinks/deadletter.ts'
import { fanOut } from '../../../pipelines/sinks/fan-out.ts'
import { SocketIoSink } from '../../../pipelines/sinks/socketio.ts'
import { simulatorSource } from '../../../pipelines/sources/simulator.ts'
import { launchDay } from '../../../pipelines/sources/simulator/scenario.ts'
import type { ServerStore } from '../../../pipelines/store/server.ts'
import { describeWithServer, useClickHouseServer } from '../../support/clickhouse-server.ts'
import { tracking } from '../../support/fixtures.ts'
import { describeWithNats, useNatsServer } from '../../support/nats-server.ts'

const scenario = launchDay({ brand: 'Lumen', competitors: ['Corvid', 'Nimbus'], start: '2026-11-30T08:00:00.000Z' })
/** Past the backlash, so that risk rises, an alert is raised, and mentions wait for replies. */
const UNTIL_S = scenario.backlashAt + 45 * 60
const stream = () => simulatorSource({ scenario, seed: 11, speed: Number.POSITIVE_INFINITY, until: UNTIL_S })

/** A live output that keeps what a wall would show (its view), and every alert change. */
function capture() {
  const view = new LiveView()
  const changes: AlertChange[] = []
  const quiet = { emit: () => true, to: () => ({ emit: () => true }) }
  const sink = new SocketIoSink(quiet, view)
  const alerts: Live = {
    push: (feed, value) => {
      if (feed === 'alert') changes.push(value as AlertChange)
    },
  }
  return {
    view,
    changes,
    live: fanOut([sink, alerts], (error) => {
      throw error
    }),
  }
}

const byKey = <T>(items: T[], key: (t: T) => string) => [...items].sort((a, b) => key(a).localeCompare(key(b)))
/** What a wall shows, in an order that does not depend on when each figure was last pushed. */
function shown(view: LiveView) {
  const live = view.parts()
  return {
    windows: byKey(live.aggregates, (w) => `${w.brand}|${w.minute}`),
    metrics: byKey(live.metrics, (m) => `${m.brand}|${m.source}|${m.window}`),
    risk: byKey(live.risk, (r) => r.brand),
    responsiveness: byKey(live.responsiveness, (r) => r.brand),
    dialogue: byKey(live.dialogue, (d) => d.brand),
    alerts: view.recentAlerts(),
  }
}

const STORED = `SELECT id, brands, label, intents, needs_reply, answers_mention_ms, mention_needs_reply, thread_root, thread_depth FROM posts ORDER BY id`

describeWithNats('bus: the live figures with three workers', () => {
  describeWithServer('with a ClickHouse server', () => {
    const nats = useNatsServer('live')
    const clickhouse = useClickHouseServer('live')
    const buses: Bus[] = []
    afterAll(async () => {
      for (const bus of buses) await bus.close()
    })

    it("equal one process's on the same simulated stream, and so does what is stored", async () => {
      const single = clickhouse.store('single')
      await single.migrate()
      const one = capture()
      const pipeline = startPipeline({
        sources: [stream()],
        classifier: new LexiconClassifier(),
        tracking,
        store: single,
        live: one.live,
        deadLetter: new MemoryDeadLetter(),
      })
      await pipeline.done

      const open = async () => {
        const bus = await openBus({ url: nats.url(), ackWaitMs: 10_000 })
        buses.push(bus)
        return bus
      }
      const stores: ServerStore[] = [0, 1, 2, 3].map(() => clickhouse.store('scaled'))
      await stores[0]!.migrate()
      const deadLetter = new MemoryDeadLetter()
      const three = capture()
      const live = startLive({
        bus: await open(),
        tracking,
        store: stores[0]!,
        live: three.live,
        deadLetter,
        ackWaitMs: 10_000,
      })
      const workers = await Promise.all(
        [1, 2, 3].map(async (i) =>
          startWorker({
            bus: await open(),
            classifier: new LexiconClassifier(),
            tracking,
            store: stores[i]!,
            deadLetter,
            ackWaitMs: 10_000,
          }),
        ),
      )
      const ingest = startIngest({
        bus: await open(),
        sources: [{ name: 'simulator', events$: stream() }],
        tracking,
        deadLetter,
      })
      await ingest.done
      await expect
        .poll(() => live.stats.order.released, { timeout: 60_000, interval: 200 })
        .toBe(ingest.stats.published)
      await Promise.all(workers.map((w) => w.stop()))
      await live.stop()

      expect(deadLetter.records).toEqual([])
      // The work was shared, and nothing was passed over or counted twice.
      for (const worker of workers) expect(worker.stats.stored).toBeGreaterThan(0)
      expect(workers.reduce((n, w) => n + w.stats.stored, 0)).toBe(pipeline.stats.stored)
      expect(live.stats.order).toMatchObject({ skipped: 0, late: 0 })
      // The stream has what the figures are about: replies to mentions, and a raised alert.
      const oneShows = shown(one.view)
      expect(oneShows.alerts.length).toBeGreaterThan(0)
      expect(oneShows.responsiveness.find((r) => r.brand === 'Lumen')!.answered).toBeGreaterThan(0)
      expect(shown(three.view)).toEqual(oneShows)
      expect(three.changes).toEqual(one.changes)
      expect(await stores[0]!.select(STORED)).toEqual(await single.select(STORED))
    }, 180_000)
  })
})
