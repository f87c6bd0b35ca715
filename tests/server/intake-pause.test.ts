// A live source (the configured Jetstream, through server/sources.ts) in front of a small intake
// journal and a classifier that has stalled: once the journal is as full as the webhook's
// refusals, the source pauses (its connection closed) instead of losing what it reads; once the
// pipeline catches up it reads again from its saved cursor (no overlap), and every post streamed is
// stored, none dead-lettered.
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Classifier } from '../../models/classifier.ts'
import { LexiconClassifier } from '../../models/lexicon.ts'
import { startPipeline } from '../../pipelines/pipeline.ts'
import { Journal } from '../../pipelines/sinks/journal.ts'
import { loadConfig } from '../../server/config.ts'
import { buildSources } from '../../server/sources.ts'
import { FakeJetstream } from '../support/fake-jetstream.ts'
import { MemoryDeadLetter, RecordingLive, tracking } from '../support/fixtures.ts'
import { useEmbeddedStore } from '../support/store.ts'
import { tmpDir } from '../support/tmp.ts'

const store = useEmbeddedStore('intake-pause')
const dir = tmpDir('intake-pause')
afterAll(() => dir.remove())

describe('a live source in front of a full intake journal', () => {
  it('pauses, reads again from its saved cursor once there is room, and loses nothing', async () => {
    const fake = await new FakeJetstream().start()
    const config = loadConfig({
      DATA_DIR: dir.path,
      SOURCES: 'jetstream',
      JETSTREAM_URL: fake.url(1),
      JETSTREAM_OVERLAP_MS: '0',
    })
    // Room for a few seconds of the stream below: what the source reads again from its cursor after a
    // pause (a second's worth, as it saves it every second) fits in the half it waits for.
    const journal = new Journal(join(dir.path, 'spool', 'intake'), 400_000, { segmentMs: 100 })
    const deadLetter = new MemoryDeadLetter()
    let open!: () => void
    const gate = new Promise<void>((r) => (open = r))
    const lexicon = new LexiconClassifier()
    const classifier: Classifier = { name: 'stalled', classify: async (texts) => (await gate, lexicon.classify(texts)) }
    const [source] = buildSources(config, {
      simulatorStart: new Date().toISOString(),
      deadLetter,
      tracking,
      intake: journal,
    })
    const pipeline = startPipeline({
      sources: [source!.events$],
      classifier,
      tracking,
      store,
      live: new RecordingLive(),
      deadLetter,
      intake: journal,
    })
    const streamed: string[] = []
    try {
      await expect.poll(() => fake.subscribers.size, { timeout: 10_000 }).toBe(1)
      const streamer = setInterval(() => {
        for (let i = 0; i < 2; i++)
          streamed.push(
            `jetstream:${fake.post(`did:plc:pause${streamed.length % 7}`, `Lumen paused ${streamed.length}`)}`,
          )
      }, 10)
      // The journal fills (the classifier takes nothing) and the source lets go of its connection.
      await expect.poll(() => fake.subscribers.size, { timeout: 10_000, interval: 20 }).toBe(0)
      expect(journal.bytes()).toBeGreaterThan(0.85 * 400_000)
      await new Promise((r) => setTimeout(r, 300))
      clearInterval(streamer)
      open()
      // It comes back, from its cursor, and every post streamed is stored.
      const ids = async () =>
        new Set(
          (await store.select<{ id: string }>("SELECT id FROM posts WHERE startsWith(id, 'jetstream:')")).map(
            (r) => r.id,
          ),
        )
      const missing = async () => {
        const held = await ids()
        return streamed.filter((id) => !held.has(id)).length
      }
      await expect.poll(missing, { timeout: 30_000, interval: 250 }).toBe(0)
      expect(fake.queries.length).toBeGreaterThan(1)
      expect(fake.queries.at(-1)!.get('cursor')).not.toBeNull()
      expect(deadLetter.records).toEqual([])
    } finally {
      await pipeline.stop()
      await journal.close()
      await fake.close()
    }
  }, 60_000)
})
