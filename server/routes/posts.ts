// GET /api/posts: middle-feedback search over stored posts (ids, brand, labels, mixed, uncertain,
// intents, emotions, text, source, time range), newest first, paged.
// GET /api/posts/series: the same selection counted per minute or hour, by label.
// GET /api/posts.csv: the whole selection as CSV, newest first, streamed from the store a page at a time.
import { pipeline, Readable } from 'node:stream'
import { EMOTIONS, INTENTS, LABEL_FILTERS, SOURCE_NAMES } from '../../pipelines/vocabulary.ts'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import Type, { type Static } from 'typebox'
import { type Emotion, type Intent, type LabelFilter, PostBucket, ScoredPost } from '../../pipelines/schema.ts'
import { MAX_SEARCH_DEPTH } from '../../pipelines/store/queries.ts'
import type { PostFilter, Store } from '../../pipelines/store/store.ts'
import { badRequest } from '../errors.ts'
import { Bucket, bucketMs, MAX_SERIES_BUCKETS, tooManyBuckets, wholeBuckets } from './buckets.ts'
import { csvFilename, csvRecord, postsCsv } from './posts-csv.ts'
import { queryTimes } from './times.ts'

export const MAX_PAGE_SIZE = 200
/** The deepest page of a search: pages reach its 10,000th match (checkDepth). */
export const MAX_PAGE = MAX_SEARCH_DEPTH
/** Posts one CSV export holds at most: a wider selection is refused before the first byte (400). */
export const MAX_EXPORT_POSTS = 1_000_000
/** Posts asked for by id at once (an alert's examples, a wall's selection). */
export const MAX_IDS = 50

const list = (values: readonly string[]) =>
  Type.String({
    pattern: `^(${values.join('|')})(,(${values.join('|')}))*$`,
    description: `comma-separated: ${values.join(', ')}`,
  })

/** Which posts: the filters every route here takes. */
const filters = {
  // Counted and checked in idsOf, which says what is wrong; the length only bounds the work.
  ids: Type.Optional(
    Type.String({ minLength: 1, maxLength: 65_536, description: `comma-separated post ids, at most ${MAX_IDS}` }),
  ),
  brand: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  labels: Type.Optional(list(LABEL_FILTERS)),
  mixed: Type.Optional(Type.Boolean()),
  uncertain: Type.Optional(Type.Boolean()),
  intents: Type.Optional(list(INTENTS)),
  emotions: Type.Optional(list(EMOTIONS)),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  source: Type.Optional(Type.Enum(SOURCE_NAMES)),
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
}
const Filters = Type.Object(filters, { additionalProperties: false })

const Query = Type.Object(
  {
    ...filters,
    page: Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 1 }),
    pageSize: Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: 50 }),
  },
  { additionalProperties: false },
)

const SeriesQuery = Type.Object({ ...filters, bucket: Bucket }, { additionalProperties: false })
const Series = Type.Object({ from: Type.String(), to: Type.String(), buckets: Type.Array(PostBucket) })

const Page = Type.Object({
  /** Matches counted up to 1,000 (exact on the last page); `totalCapped`: at least that many. */
  total: Type.Integer(),
  totalCapped: Type.Boolean(),
  page: Type.Integer(),
  pageSize: Type.Integer(),
  posts: Type.Array(ScoredPost),
})

/** A 400 for a page past the search's depth (OFFSET reads and skips every match before it). */
export function checkDepth(page: number, pageSize: number): void {
  const depth = page * pageSize
  if (depth > MAX_SEARCH_DEPTH)
    throw badRequest(
      `page ${page} with pageSize ${pageSize} ends at match ${depth.toLocaleString('en')}; pages reach the first ${MAX_SEARCH_DEPTH.toLocaleString('en')} matches: narrow the filters or the range (or export them all as CSV)`,
    )
}

/** Post ids are `<source>:<native id>` and hold no comma in any source Undertow reads. */
function idsOf(value: string): string[] {
  const ids = value.split(',')
  if (ids.some((id) => id === '')) throw badRequest('ids: an empty id (two commas in a row, or one at an end)')
  if (ids.length > MAX_IDS) throw badRequest(`ids: ${ids.length} ids given; at most ${MAX_IDS}`)
  if (ids.some((id) => id.length > 512)) throw badRequest('ids: an id longer than 512 characters')
  return ids
}

function filterOf(query: Static<typeof Filters>): PostFilter {
  const { ids, labels, intents, emotions, q, ...rest } = queryTimes(query)
  return {
    ...rest,
    ...(ids ? { ids: idsOf(ids) } : {}),
    ...(labels ? { labels: labels.split(',') as LabelFilter[] } : {}),
    ...(intents ? { intents: intents.split(',') as Intent[] } : {}),
    ...(emotions ? { emotions: emotions.split(',') as Emotion[] } : {}),
    ...(q ? { text: q } : {}),
  }
}

export const postRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, { store }) => {
  app.get('/api/posts', { schema: { querystring: Query, response: { 200: Page } } }, async (request) => {
    const { page, pageSize, ...filters } = request.query
    checkDepth(page, pageSize)
    const result = await store.searchPosts({ ...filterOf(filters), page, pageSize }, request.caller)
    return { ...result, page, pageSize }
  })

  app.get('/api/posts/series', { schema: { querystring: SeriesQuery, response: { 200: Series } } }, async (request) => {
    const { bucket, ...filters } = request.query
    const filter = filterOf(filters)
    // Open-ended: up to the newest post's bucket, and at most MAX_SERIES_BUCKETS back (the answer
    // says which range it covers), so no series reads all history.
    const span = MAX_SERIES_BUCKETS * bucketMs(bucket)
    const newest = async () =>
      Math.ceil(
        (Date.parse((await store.latestPostTime(request.caller)) ?? new Date().toISOString()) + 1) / bucketMs(bucket),
      ) * bucketMs(bucket)
    const to = filter.to ?? new Date(filter.from ? Date.parse(filter.from) + span : await newest()).toISOString()
    const from = filter.from ?? new Date(Date.parse(to) - span).toISOString()
    // The exact range (not widened): the buckets add up to the search's matches.
    wholeBuckets(from, to, bucket)
    const buckets = await store.postSeries(
      { ...filter, from, to, bucket, limit: MAX_SERIES_BUCKETS + 1 },
      request.caller,
    )
    if (buckets.length > MAX_SERIES_BUCKETS) throw tooManyBuckets(`more than ${MAX_SERIES_BUCKETS}`)
    return { from, to, buckets }
  })

  // The headers a download would get, without running the export (a HEAD before the GET of Fastify's own).
  app.head('/api/posts.csv', { schema: { querystring: Filters } }, async (request, reply) => {
    const filter = filterOf(request.query)
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${csvFilename(filter)}"`)
      .send()
  })

  app.get('/api/posts.csv', { schema: { querystring: Filters } }, async (request, reply) => {
    const filter = filterOf(request.query)
    // Refused whole, before the first byte, rather than cut short without a word.
    const matches = await store.countMatches(filter, MAX_EXPORT_POSTS + 1, request.caller)
    if (matches > MAX_EXPORT_POSTS)
      throw badRequest(
        `the selection holds more than ${MAX_EXPORT_POSTS.toLocaleString('en')} posts, the most one export holds: narrow the range (from, to) or the filters`,
      )
    const pages = store.scanPosts(filter, undefined, request.caller)[Symbol.asyncIterator]()
    // The first page before the first byte: a store that does not answer gets a JSON error, not an empty file.
    const first = await pages.next()
    const csv = postsCsv()
    pipeline(Readable.from(rows(first, pages)), csv, (error) => {
      // A download cancelled is the client's choice; anything else broke the export half way.
      if ((error as NodeJS.ErrnoException | undefined)?.code === 'ERR_STREAM_PREMATURE_CLOSE')
        request.log.info('CSV export: the client went away')
      else if (error) request.log.error({ err: error }, 'CSV export stopped half way')
    })
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${csvFilename(filter)}"`)
      .send(csv)
  })
}

/** Every post of the pages as a CSV record, one at a time; a reader that stops early stops the scan too. */
async function* rows(
  first: IteratorResult<ScoredPost[]>,
  pages: AsyncIterator<ScoredPost[]>,
): AsyncGenerator<ReturnType<typeof csvRecord>> {
  try {
    for (let page = first; !page.done; page = await pages.next()) yield* page.value.map(csvRecord)
  } finally {
    await pages.return?.()
  }
}
