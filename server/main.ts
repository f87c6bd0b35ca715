// The process: read and validate configuration, open the store, start the pipeline and the
// server, and on SIGINT/SIGTERM stop the sources, flush everything to the store, then exit.
import { resolve } from 'node:path'
import { LexiconClassifier } from '../models/lexicon.ts'
import { startPipeline } from '../pipelines/pipeline.ts'
import { DeadLetterFile } from '../pipelines/sinks/deadletter.ts'
import { LiveView, SocketIoSink } from '../pipelines/sinks/socketio.ts'
import { EmbeddedStore } from '../pipelines/store/embedded.ts'
import { buildServer } from './app.ts'
import { ConfigError, listOf, loadConfig } from './config.ts'
import { buildSources } from './sources.ts'
import { trackingFrom } from './tracking.ts'

async function main(): Promise<void> {
  const config = loadConfig(process.env)
  const store = new EmbeddedStore(config.DATA_DIR)
  await store.migrate()
  const deadLetter = new DeadLetterFile(resolve(config.DATA_DIR, 'dead-letter.ndjson'))
  const classifier = new LexiconClassifier()
  const tracking = trackingFrom(config)
  const view = new LiveView()

  // Simulated time runs ahead of the clock (SIM_SPEED); a restarted simulator resumes after the
  // newest stored post instead of writing a second story into minutes already told.
  const latest = await store.latestPostTime()
  const simulatorStart = new Date(Math.max(Date.now(), latest ? Date.parse(latest) + 60_000 : 0)).toISOString()

  let stats = () => ({})
  const app = await buildServer({
    store,
    view,
    tracking,
    health: { classifier: classifier.name, sources: listOf(config.SOURCES), stats: () => stats() },
    logger: { level: config.LOG_LEVEL },
  })
  const pipeline = startPipeline({
    sources: buildSources(config, { simulatorStart }),
    classifier,
    tracking,
    store,
    live: new SocketIoSink(app.io, view),
    deadLetter,
  })
  stats = () => ({ ...pipeline.stats, deadLetter: deadLetter.counts() })
  pipeline.done.catch((error: unknown) => app.log.error({ err: error }, 'pipeline failed'))

  const address = await app.listen({ port: config.PORT, host: config.HOST })
  app.log.info(`Undertow wall: ${address.replace('127.0.0.1', 'localhost')}  (sources: ${config.SOURCES}, store: embedded at ${resolve(config.DATA_DIR)})`)
  console.log(`\n  Undertow is running: ${address.replace('127.0.0.1', 'localhost')}\n`)

  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    app.log.info(`${signal}: stopping sources and flushing to the store`)
    await pipeline.stop()
    await app.close()
    await store.close()
    app.log.info(`stopped; ${pipeline.stats.stored} posts stored this run`)
    process.exit(0)
  }
  process.on('SIGINT', () => void shutdown('SIGINT'))
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error)
  process.exit(1)
})
