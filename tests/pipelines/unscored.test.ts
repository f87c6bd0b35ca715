// Posts in a language the classifier does not read, through the real pipeline into each store
// mode: the model never sees them; they are stored with their language and no reading, found by
// `labels=unscored`, counted in volume and in `unscored`, and in no sentiment figure, live or stored.
import { from, lastValueFrom, toArray } from 'rxjs'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Classifier } from '../../models/classifier.ts'
import { LexiconClassifier } from '../../models/lexicon.ts'
import type { BrandMetrics, Post, SourceEvent } from '../../pipelines/schema.ts'
import { classify } from '../../pipelines/transforms/classify.ts'
import { ReadLanguages } from '../../models/language.ts'
import { MemoryDeadLetter, postsOf, runThrough, simulated } from '../support/fixtures.ts'
import { storesUnderTest } from '../support/stores.ts'

const MODES = storesUnderTest('unscored')
// Written for this test; the network says English for every one (a poster's locale, as Bluesky does).
const FOREIGN: [string, string][] = [
  ['de', 'Das neue Lumen X2 ist furchtbar, der Akku hält keinen halben Tag durch'],
  ['fr', 'Je déteste le nouveau Lumen X2, tout est cassé depuis la mise à jour'],
  ['es', 'El nuevo Lumen X2 es muy bueno, me encanta la batería y la cámara'],
  ['ja', 'Lumen X2 のアップデートは最悪です、電池がすぐ切れる'],
]

/** The lexicon, telling which texts it was given. */
function recording(): Classifier & { seen: string[] } {
  const lexicon = new LexiconClassifier()
  const seen: string[] = []
  return { name: 'recording-lexicon', seen, classify: async (texts) => (seen.push(...texts), lexicon.classify(texts)) }
}

function withForeign(): { events: SourceEvent[]; foreign: Post[] } {
  const events = simulated(900).map((e) => e.event)
  const templates = postsOf(simulated(900))
    .filter((p) => p.text.includes('Lumen') && !p.ownBrand)
    .slice(20, 20 + FOREIGN.length * 3)
  const foreign = templates.map((t, i) => ({
    ...t,
    id: `${t.id}-foreign`,
    text: FOREIGN[i % FOREIGN.length]![1],
    lang: 'en',
    replyTo: undefined,
    quoteOf: undefined,
  }))
  // Each just after the post it copies the time of.
  for (const p of foreign)
    events.splice(events.findIndex((e) => e.kind === 'post' && e.post.id === p.id.replace(/-foreign$/, '')) + 1, 0, {
      kind: 'post',
      post: JSON.parse(JSON.stringify(p)) as Post,
    })
  return { events, foreign }
}

describe.each(MODES)('posts in a language the classifier does not read ($name)', ({ store: open }) => {
  const { events, foreign } = withForeign()
  const ids = new Set(foreign.map((p) => p.id))
  const classifier = recording()
  let live: Awaited<ReturnType<typeof runThrough>>['live']

  beforeAll(async () => {
    const run = await runThrough(open(), from(events), classifier)
    expect(run.deadLetter.records).toEqual([])
    live = run.live
  }, 120_000)

  it('never gives them to the model, and stores them with their language and no reading', async () => {
    for (const [, text] of FOREIGN) expect(classifier.seen).not.toContain(text)
    const pushed = live.posts.filter((p) => ids.has(p.id))
    expect(pushed).toHaveLength(foreign.length)
    for (const p of pushed) {
      expect(p.sentiment).toBeUndefined()
      expect(p.language).toBe(FOREIGN.find(([, text]) => text === p.text)![0])
    }
    expect(live.posts.filter((p) => !ids.has(p.id)).every((p) => p.sentiment !== undefined && p.language !== '')).toBe(
      true,
    )
    const store = open()
    const found = await store.searchPosts({ labels: ['unscored'], page: 1, pageSize: 50 })
    expect(found.posts.map((p) => p.id).sort()).toEqual([...ids].sort())
    expect(found.posts.map((p) => [p.language, p.sentiment])).toEqual(
      found.posts.map((p) => [FOREIGN.find(([, text]) => text === p.text)![0], undefined]),
    )
    // And no label finds them.
    const labelled = await store.searchPosts({
      labels: ['negative', 'neutral', 'positive'],
      page: 1,
      pageSize: 200,
      text: 'Lumen X2',
    })
    expect(labelled.posts.filter((p) => ids.has(p.id))).toEqual([])
  })

  it('counts them in volume and in unscored, and in no share: live and stored agree', async () => {
    const store = open()
    const windows = [...live.windows.values()].filter((w) => w.brand === 'Lumen')
    expect(windows.reduce((n, w) => n + w.unscored, 0)).toBe(foreign.length)
    const stored = (await store.minuteAggregates({ brands: ['Lumen'] })).reduce((n, w) => n + w.unscored, 0)
    expect(stored).toBe(foreign.length)
    const day = live.metrics.get('Lumen|all|24h')! satisfies BrandMetrics
    expect(day.unscored).toBe(foreign.length)
    const scored = day.posts - day.unscored
    expect(day.negative + day.neutral + day.positive).toBe(scored)
    expect(day.netSentiment).toBeCloseTo((day.positive - day.negative) / scored, 12)
    expect(day.middleShare).toBeCloseTo(day.middle / scored, 12)
    const history = await store.metrics({
      brand: 'Lumen',
      rivals: ['Corvid', 'Nimbus'],
      window: '24h',
      from: day.from,
      to: day.to,
    })
    expect(history).toEqual(day)
    // The series of a search counts them apart.
    const series = await store.postSeries({ brand: 'Lumen', bucket: 'hour' })
    expect(series.reduce((n, b) => n + b.unscored, 0)).toBe(foreign.length)
  })

  it('scores them all when the classifier is said to read every language', async () => {
    const all = recording()
    all.languages = new ReadLanguages('*')
    const texts = foreign.map((p) => p.text)
    const out = await lastValueFrom(from(foreign).pipe(classify(all, new MemoryDeadLetter()), toArray()))
    expect(out.every((p) => p.sentiment !== undefined)).toBe(true)
    expect(all.seen).toEqual(texts)
  })
})
