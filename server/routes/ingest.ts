// POST /api/ingest: the webhook. Posts in the documented Post schema (docs: README), as JSON (one
// post or an array) or NDJSON (one per line), with the ingest token as a bearer token. Good posts
// are kept on disk (the intake journal) before the answer, 202; each bad one is reported with its
// line (or item) and why, and kept in the dead-letter record too. Nothing is dropped silently.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { DeadLetter } from '../../pipelines/sinks/deadletter.ts'
import { readIngestBody, type WebhookSource } from '../../pipelines/sources/webhook.ts'
import { sameSecret } from '../access.ts'
import { ERROR_CODES, errorBody } from '../errors.ts'

/** Largest request body: 10,000 posts of a typical size, with room. */
export const INGEST_BODY_LIMIT = 16 * 1024 * 1024

/**
 * Past how many bytes waiting on disk for the classifier the webhook refuses new requests (503):
 * room is kept for the requests already on their way (four of the largest), or a tenth of a
 * small disk.
 */
export const refuseAbove = (maxBytes: number) => Math.max(0.9 * maxBytes, maxBytes - 4 * INGEST_BODY_LIMIT)

export interface IngestOptions {
  token: string
  source: WebhookSource
  deadLetter: DeadLetter
  /** Why new posts cannot be taken now (the classifier is far behind and its disk nearly full), or undefined. */
  busy?: () => string | undefined
}

export const ingestRoutes: FastifyPluginAsync<IngestOptions> = async (app, { token, source, deadLetter, busy }) => {
  // Both formats arrive as text and are read a post at a time (pipelines/sources/webhook.ts).
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser(
    ['application/json', 'application/x-ndjson'],
    { parseAs: 'string', bodyLimit: INGEST_BODY_LIMIT },
    (_request, body, done) => done(null, body),
  )

  // Refused before the body is read: a request without the token (or one that cannot be taken
  // now) costs its headers only, not 16 MiB of reading. The connection is closed rather than
  // drained, so the unread body is never taken off the socket.
  const refuse = (reply: FastifyReply, status: number, body: object) =>
    reply.status(status).header('connection', 'close').send(body)
  const onRequest = async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization ?? ''
    const given = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : ''
    if (!given || !sameSecret(given, token)) {
      return refuse(
        reply,
        401,
        errorBody(
          ERROR_CODES.UNAUTHORIZED,
          'POST /api/ingest needs the ingest token: Authorization: Bearer <INGEST_TOKEN>',
        ),
      )
    }
    if (!source.open)
      return refuse(
        reply.header('retry-after', '5'),
        503,
        errorBody(ERROR_CODES.UNAVAILABLE, 'Undertow is starting or shutting down; send again in a moment'),
      )
    // The sender keeps the posts and sends them again.
    const behind = busy?.()
    if (behind)
      return refuse(
        reply.header('retry-after', '30'),
        503,
        errorBody(ERROR_CODES.UNAVAILABLE, `${behind}; send again in 30 s`),
      )
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
    if (type !== 'application/x-ndjson' && type !== 'application/json')
      return refuse(
        reply,
        415,
        errorBody(
          ERROR_CODES.UNSUPPORTED_MEDIA_TYPE,
          `Content-Type ${JSON.stringify(type)}: send application/json or application/x-ndjson`,
        ),
      )
    return undefined
  }

  app.post('/api/ingest', { bodyLimit: INGEST_BODY_LIMIT, onRequest }, async (request, reply) => {
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
    const read = readIngestBody(String(request.body ?? ''), type === 'application/x-ndjson' ? 'ndjson' : 'json')
    if (!read.ok) return reply.status(400).send(errorBody(ERROR_CODES.BAD_REQUEST, read.reason))
    for (const rejection of read.rejected)
      deadLetter.record(
        'ingest',
        `${rejection.line ? `line ${rejection.line}` : `item ${rejection.item}`}: ${rejection.reason}`,
        read.raw.get(rejection),
      )
    // 202 only once the posts are on disk (the intake journal): a crash after it loses none of them.
    try {
      await source.push(read.posts)
    } catch (error) {
      return reply
        .status(503)
        .header('retry-after', '30')
        .send(
          errorBody(
            ERROR_CODES.UNAVAILABLE,
            `the posts could not be kept (${error instanceof Error ? error.message : String(error)}); send again in 30 s`,
          ),
        )
    }
    return reply.status(202).send({ accepted: read.posts.length, rejected: read.rejected })
  })
}
