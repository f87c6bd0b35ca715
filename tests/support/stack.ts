// The whole stack as `npm start` runs it (simulator, pipeline, embedded store, server on a
// loopback port) with the default classifier, at the speed a browser test or the screenshot
// script needs.
import { merge, type Observable } from 'rxjs'
import { loadClassifier } from '../../models/load.ts'
import { startPipeline } from '../../pipelines/pipeline.ts'
import type { SourceEvent } from '../../pipelines/schema.ts'
import { SocketIoSink } from '../../pipelines/sinks/socketio.ts'
import { simulatorSource } from '../../pipelines/sources/simulator.ts'
import { launchDay } from '../../pipelines/sources/simulator/scenario.ts'
import { MemoryDeadLetter, tracking } from './fixtures.ts'
import { testApp } from './server.ts'

export async function startStack(options: { speed: number; extra?: Observable<SourceEvent> }) {
  const t = await testApp()
  const url = await t.app.listen({ port: 0, host: '127.0.0.1' })
  const scenario = launchDay({ brand: 'Lumen', competitors: ['Corvid', 'Nimbus'], start: new Date().toISOString() })
  const sources = [simulatorSource({ scenario, seed: 42, speed: options.speed }), ...(options.extra ? [options.extra] : [])]
  const pipeline = startPipeline({
    sources: [merge(...sources)],
    classifier: await loadClassifier(undefined),
    tracking,
    store: t.store,
    live: new SocketIoSink(t.app.io, t.view),
    deadLetter: new MemoryDeadLetter(),
  })
  return {
    url,
    async stop() {
      await pipeline.stop()
      await t.close()
    },
  }
}
