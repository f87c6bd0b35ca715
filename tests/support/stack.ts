// The whole stack as `npm start` runs it (simulator, pipeline, embedded store, server on a
// loopback port) with the default classifier, at the speed a browser test or the screenshot
// script needs.
import { merge, type Observable } from 'rxjs'
import { loadClassifier } from '../../models/load.ts'
import { startPipeline } from '../../pipelines/pipeline.ts'
import type { Alert, SourceEvent } from '../../pipelines/schema.ts'
import { SocketIoSink } from '../../pipelines/sinks/socketio.ts'
import { simulatorSource } from '../../pipelines/sources/simulator.ts'
import { launchDay, type Scenario } from '../../pipelines/sources/simulator/scenario.ts'
import { UnavailableError } from '../../server/errors.ts'
import { MemoryDeadLetter, tracking } from './fixtures.ts'
import { testApp } from './server.ts'

/**
 * `scenario`: changes to the default launch day (the screenshots move the backlash past the warm-up).
 * `server`: the app's own options (access tokens, allowed hosts).
 */
export async function startStack(options: {
  speed: number
  extra?: Observable<SourceEvent>
  scenario?: Partial<Scenario>
  model?: string
  server?: Omit<NonNullable<Parameters<typeof testApp>[0]>, 'alerts'>
}) {
  // The server is built before the pipeline it acknowledges alerts through, as in server/main.ts.
  let acknowledge = (_id: string): Alert | null => {
    throw new UnavailableError('the pipeline is not running yet')
  }
  const t = await testApp({ ...options.server, alerts: { acknowledge: (id) => acknowledge(id) } })
  const url = await t.app.listen({ port: 0, host: '127.0.0.1' })
  const scenario = {
    ...launchDay({ brand: 'Lumen', competitors: ['Corvid', 'Nimbus'], start: new Date().toISOString() }),
    ...options.scenario,
  }
  const sources = [
    simulatorSource({ scenario, seed: 42, speed: options.speed }),
    ...(options.extra ? [options.extra] : []),
  ]
  const pipeline = startPipeline({
    sources: [merge(...sources)],
    classifier: await loadClassifier(options.model),
    tracking,
    store: t.store,
    live: new SocketIoSink(t.app.io, t.view),
    deadLetter: new MemoryDeadLetter(),
  })
  acknowledge = (id) => pipeline.acknowledge(id)
  return {
    url,
    async stop() {
      await pipeline.stop()
      await t.close()
    },
  }
}
