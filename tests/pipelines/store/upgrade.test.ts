// An upgrade over stored data, in each mode: a store made by the build before the emotions
// (migrations 1-3) holds a post; the next start applies migration 4. The old post reads back with
// no emotions and no language read, and stays counted; new posts are stored and counted with
// theirs, and one in a language not read is stored unscored (a value added to the label's Enum).
import { afterAll, describe, expect, it } from 'vitest'
import type { ScoredPost } from '../../../pipelines/schema.ts'
import { EmbeddedStore } from '../../../pipelines/store/embedded.ts'
import { postRow } from '../../../pipelines/store/rows.ts'
import type { SqlStore } from '../../../pipelines/store/sql-store.ts'
import { CLICKHOUSE_SERVER, useClickHouseServer } from '../../support/clickhouse-server.ts'
import { tmpDir } from '../../support/tmp.ts'

const dir = tmpDir('upgrade')
const embedded = new EmbeddedStore(dir.path)
const server = CLICKHOUSE_SERVER || process.env.CI ? useClickHouseServer('upgrade') : undefined
afterAll(async () => {
  await embedded.close()
  dir.remove()
})

const post = (id: string, o: Partial<ScoredPost['sentiment']> = {}): ScoredPost => ({
  id,
  source: 'webhook',
  url: '',
  author: { id: 'u1', handle: 'u1', displayName: 'U', followers: 3 },
  text: `Lumen post ${id}`,
  lang: 'en',
  language: 'en',
  createdAt: '2026-11-23T10:00:30.000Z',
  engagement: { likes: 0, reposts: 0, replies: 0, quotes: 0 },
  brands: ['Lumen'],
  terms: ['lumen'],
  sentiment: {
    label: 'negative',
    scores: { negative: 0.9, neutral: 0.05, positive: 0.05 },
    confidence: 0.9,
    mixed: false,
    uncertain: false,
    intents: ['complaint'],
    emotions: [],
    ...o,
  },
})

describe.each([
  { name: 'embedded', open: () => embedded as SqlStore },
  ...(server ? [{ name: 'server', open: () => server.store('upgrade') as SqlStore }] : []),
])('an upgrade to the emotions ($name)', ({ open }) => {
  it('keeps the posts stored before it, and counts the emotions of those after', async () => {
    const store = open()
    await store.migrate({ through: 3 })
    // Written as the earlier build wrote it: its rows had no emotions or language column.
    const { emotions: _, language: __, ...oldRow } = postRow(post('webhook:old'))
    await store.insertRowsUnchecked('posts', [oldRow])
    await store.migrate()
    const versions = await store.select<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version')
    expect(versions.map((v) => Number(v.version))).toEqual([1, 2, 3, 4])

    const [old] = (await store.searchPosts({ ids: ['webhook:old'], page: 1, pageSize: 1 })).posts
    expect(old).toEqual({ ...post('webhook:old'), language: '' })
    const { sentiment: ___, ...unscored } = { ...post('webhook:de'), language: 'de' }
    expect(await store.insertPosts([post('webhook:new', { emotions: ['anger', 'sadness'] }), unscored])).toHaveLength(2)
    const [minute] = await store.select<Record<string, string | number>>(
      "SELECT sum(posts) AS posts, sum(complaint) AS complaint, sum(anger) AS anger, sum(sadness) AS sadness, sum(joy) AS joy, sum(negative) AS negative, sum(unscored) AS unscored FROM brand_source_minute WHERE brand = 'Lumen'",
    )
    // Numbers in one engine's JSON, strings in the other's (UInt64).
    expect(Object.fromEntries(Object.entries(minute!).map(([k, v]) => [k, Number(v)]))).toEqual({
      posts: 3,
      complaint: 2,
      anger: 1,
      sadness: 1,
      joy: 0,
      negative: 2,
      unscored: 1,
    })
    expect((await store.searchPosts({ labels: ['unscored'], page: 1, pageSize: 10 })).posts).toEqual([unscored])
    const angry = await store.searchPosts({ emotions: ['anger'], page: 1, pageSize: 10 })
    expect(angry.posts.map((p) => p.id)).toEqual(['webhook:new'])
  })
})
