// What one viewer may ask of the store through the API: every answer bounded (page depth, ranges
// of series and aggregates, exports), a read stopped at the store's time limit answered 503 with
// what happened, one client's flood of heavy reads leaving other clients and the walls their
// turns, and times the schema accepts but Date.parse does not answered, never a 500.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_AGGREGATE_BUCKETS } from '../../server/routes/aggregates.ts'
import { MAX_EXPORT_POSTS } from '../../server/routes/posts.ts'
import { buildSnapshot } from '../../server/snapshot.ts'
import { runThrough, simulated, sourceOf, tracking } from '../support/fixtures.ts'
import { testApp } from '../support/server.ts'

let t: Awaited<ReturnType<typeof testApp>>

beforeAll(async () => {
  t = await testApp()
  await runThrough(t.store, sourceOf(simulated(20 * 60)))
})
afterAll(() => t.close())

const get = async (url: string) => {
  const res = await t.app.inject(url)
  return { status: res.statusCode, body: res.json(), headers: res.headers }
}

describe('bounded answers', () => {
  it('pages a search to its 10,000th match, and says so past it', async () => {
    expect((await get('/api/posts?page=200&pageSize=50')).status).toBe(200)
    for (const url of [
      '/api/posts?page=201&pageSize=50',
      '/api/posts?page=100000',
      '/api/teams/product/posts?page=101&pageSize=100',
    ]) {
      const res = await get(url)
      expect(res.status, url).toBe(400)
      expect(res.body.error.code).toBe('bad_request')
      expect(res.body.error.message).toMatch(/10,?000/)
    }
  })

  it('gives /api/aggregates the newest windows by default, and refuses a range past its limit naming it', async () => {
    const all = (await get('/api/aggregates')).body.windows as { minute: string }[]
    expect(all.length).toBeGreaterThan(20)
    expect(new Set(all.map((w) => w.minute)).size).toBeLessThanOrEqual(MAX_AGGREGATE_BUCKETS)
    // A day of minutes is the most; a day and a minute is refused, as are 25 hours of lastMinutes.
    expect((await get('/api/aggregates?from=2026-11-23T00:00:00Z&to=2026-11-24T00:00:00Z')).status).toBe(200)
    for (const url of [
      '/api/aggregates?from=2026-11-23T00:00:00Z&to=2026-11-24T00:01:00Z',
      '/api/aggregates?lastMinutes=1500',
      '/api/aggregates?from=2026-01-01T00:00:00Z&to=2026-11-24T00:00:00Z&bucket=hour',
    ]) {
      const res = await get(url)
      expect(res.status, url).toBe(400)
      expect(res.body.error.message).toMatch(/at most 1,440 per brand/)
    }
    // One end given: the other is the limit away from it.
    const from = (await get('/api/aggregates?from=2026-11-23T09:10:00Z')).body.windows as { minute: string }[]
    expect(from.length).toBeGreaterThan(0)
    expect(from.every((w) => w.minute >= '2026-11-23T09:10')).toBe(true)
    expect(
      (await get('/api/aggregates?to=2026-11-23T09:05:00Z')).body.windows.every(
        (w: { minute: string }) => w.minute < '2026-11-23T09:05',
      ),
    ).toBe(true)
  })

  it('gives an open-ended /api/posts/series a bounded range, and says which', async () => {
    const open = await get('/api/posts/series')
    expect(open.status).toBe(200)
    expect(Date.parse(open.body.to) - Date.parse(open.body.from)).toBe(10_080 * 60_000)
    const total = (open.body.buckets as { posts: number }[]).reduce((n, b) => n + b.posts, 0)
    expect(total).toBe(await t.store.countMatches({}, 1_000_000))
    const hours = await get('/api/posts/series?bucket=hour&to=2026-11-23T10:00:00Z')
    expect(hours.body.from).toBe(new Date(Date.parse('2026-11-23T10:00:00Z') - 10_080 * 3_600_000).toISOString())
  })

  it('refuses an export past its limit before the first byte', async () => {
    const count = t.store.countMatches
    t.store.countMatches = async (_filter, cap) => cap
    try {
      const res = await get('/api/posts.csv')
      expect(res.status).toBe(400)
      expect(res.body.error.message).toContain(`more than ${MAX_EXPORT_POSTS.toLocaleString('en')} posts`)
    } finally {
      t.store.countMatches = count
    }
  })
})

describe('reads stopped at a limit', () => {
  it('answers a read past the time limit with 503 timeout, saying which limit, not a 500', async () => {
    const search = t.store.searchPosts
    t.store.readTimeoutS = 1
    // The search's store call replaced by a real read the engine stops at the limit.
    t.store.searchPosts = async () => {
      await t.store.select('SELECT count() FROM numbers(100000000000)', undefined, {})
      throw new Error('not reached')
    }
    try {
      const res = await get('/api/posts?q=battery')
      expect(res.status).toBe(503)
      expect(res.headers['retry-after']).toBe('5')
      expect(res.body.error).toEqual({
        code: 'timeout',
        message: expect.stringMatching(/longer than 1 s.*narrow the range or the filters/),
      })
    } finally {
      t.store.searchPosts = search
      t.store.readTimeoutS = undefined
    }
    expect((await get('/api/posts?q=battery')).status).toBe(200)
  })
})

describe('one client flooding heavy reads', () => {
  it("leaves another client's reads and a wall's snapshot their turns", async () => {
    const search = t.store.searchPosts
    // Searches made heavy: each holds its read slot 3 s (asleep, off the cores) before the real search.
    t.store.searchPosts = async (query, reader) => {
      await t.store.select('SELECT sleepEachRow(0.2) AS s FROM numbers(15) SETTINGS max_block_size = 1', undefined, {
        reader,
      })
      return search.call(t.store, query, reader)
    }
    const flooder: number[] = []
    let flooding = true
    try {
      // A dozen at once, and another each time one is answered (a little later when refused):
      // on one slot first come first served, 36 s of reads ahead of anyone else.
      const flood = Array.from({ length: 12 }, async () => {
        while (flooding) {
          const res = await t.app.inject({ url: '/api/posts?q=battery', remoteAddress: '127.0.0.2' })
          flooder.push(res.statusCode)
          if (res.statusCode === 429) {
            expect(res.json().error.code).toBe('rate_limited')
            await new Promise((r) => setTimeout(r, 200))
          }
        }
      })
      await new Promise((r) => setTimeout(r, 1_000))
      const storeErrors: unknown[] = []
      const [aggregates, posts, snapshot] = await Promise.all([
        t.app.inject({ url: '/api/aggregates', remoteAddress: '127.0.0.3' }),
        t.app.inject({ url: '/api/posts?pageSize=5', remoteAddress: '127.0.0.3' }),
        buildSnapshot(t.store, t.view, tracking, (error) => storeErrors.push(error)),
      ])
      flooding = false
      expect(aggregates.statusCode, aggregates.body).toBe(200)
      expect(posts.statusCode, posts.body).toBe(200)
      expect(storeErrors).toEqual([])
      expect(snapshot.aggregates.length).toBeGreaterThan(0)
      await Promise.all(flood)
      // The flooder itself was answered, a few reads at a time, and refused past them.
      expect(flooder).toContain(200)
      expect(flooder).toContain(429)
      expect(flooder.filter((s) => s !== 200 && s !== 429)).toEqual([])
    } finally {
      flooding = false
      t.store.searchPosts = search
    }
  }, 60_000)
})

describe('times the schema accepts and Date.parse does not', () => {
  // Fastify's date-time format takes a leap second at 23:59:60 UTC only, as RFC 3339 has them.
  const LEAP = '2026-11-23T23:59:60Z'
  const BEFORE_1970 = '1969-12-31T00:00:00Z'
  it.each([
    `/api/posts?from=${LEAP}`,
    `/api/posts?to=${LEAP}`,
    `/api/posts/series?from=2026-11-23T09:00:00Z&to=${LEAP}&bucket=hour`,
    `/api/posts.csv?from=${LEAP}&to=2026-11-23T09:01:00Z`,
    `/api/aggregates?from=${LEAP}`,
    `/api/aggregates?to=${LEAP}`,
    `/api/metrics?brand=Lumen&to=${LEAP}`,
    `/api/metrics/series?brand=Lumen&from=2026-11-23T09:00:00Z&to=${LEAP}`,
    `/api/response-times?brand=Lumen&asOf=${LEAP}`,
    `/api/response-times?brand=Lumen&asOf=${BEFORE_1970}`,
    `/api/dialogue?brand=Lumen&asOf=${BEFORE_1970}`,
    `/api/dialogue?brand=Lumen&from=${BEFORE_1970}&to=${LEAP}`,
    `/api/teams/product/posts?from=${LEAP}`,
    `/api/alerts?from=${LEAP}`,
  ])("%s reads a leap second as its minute's last millisecond, and a time before 1970 as 1970", async (url) => {
    const res = await t.app.inject(url)
    expect(res.statusCode, res.body).toBe(200)
  })

  it('reads them as the same instants as their normal forms', async () => {
    const leap = await get(`/api/posts?to=${LEAP}&pageSize=200`)
    const plain = await get(`/api/posts?to=2026-11-23T23:59:59.999Z&pageSize=200`)
    expect(leap.body.posts.length).toBeGreaterThan(0)
    expect(leap.body).toEqual(plain.body)
    // An RFC 9557 suffix (a zone to show it in): the routes' format refuses it, naming the parameter.
    const zoned = await get(`/api/posts?to=${encodeURIComponent('2026-11-23T23:59:59.999Z[Europe/Paris]')}`)
    expect(zoned.status).toBe(400)
    expect(zoned.body.error.message).toMatch(/querystring\/to must match format "date-time"/)
    expect((await get(`/api/posts/series?from=2026-11-23T09:00:00Z&to=${LEAP}&bucket=hour`)).body.to).toBe(
      '2026-11-23T23:59:59.999Z',
    )
    const csv = await t.app.inject({ method: 'HEAD', url: `/api/posts.csv?from=${LEAP}` })
    expect(csv.headers['content-disposition']).toContain('undertow-posts-2026-11-23T235959Z-end.csv')
  })
})
