// Every HTTP error leaves in one JSON shape with a stable code; a 5xx never shows internals.
import type { FastifyError, FastifyInstance } from 'fastify'
import { QueryLimitError } from '../pipelines/store/limits.ts'

export const ERROR_CODES = {
  BAD_REQUEST: 'bad_request',
  UNAUTHORIZED: 'unauthorized',
  FORBIDDEN: 'forbidden',
  NOT_FOUND: 'not_found',
  CONFLICT: 'conflict',
  PAYLOAD_TOO_LARGE: 'payload_too_large',
  UNSUPPORTED_MEDIA_TYPE: 'unsupported_media_type',
  RATE_LIMITED: 'rate_limited',
  INTERNAL: 'internal_error',
  UNAVAILABLE: 'unavailable',
  /** A read ran past the store's time limit (pipelines/store/limits.ts). */
  TIMEOUT: 'timeout',
  /** A read's answer would be past the store's row limit. */
  TOO_LARGE: 'too_large',
} as const
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES]

export interface ErrorBody {
  error: { code: ErrorCode; message: string }
}

export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } }
}

/** A 400 with a message that says what is wrong with the request. */
export const badRequest = (message: string) => Object.assign(new Error(message), { statusCode: 400 })

/** A 503 for something not running now, whose message is written for the client (never internals). */
export class UnavailableError extends Error {
  override name = 'UnavailableError'
  readonly statusCode = 503
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500
    if (error instanceof UnavailableError)
      return reply.status(503).send(errorBody(ERROR_CODES.UNAVAILABLE, error.message))
    // The store stopped a read at a limit: the client is told which, and may narrow it or retry.
    if (error instanceof QueryLimitError) {
      request.log.warn({ limit: error.limit, url: request.url }, 'read stopped at a limit')
      // Too many rows is the question's (ask a narrower one); time and a queue depend on the load.
      if (error.limit === 'rows') return reply.status(400).send(errorBody(ERROR_CODES.TOO_LARGE, error.message))
      if (error.limit === 'client')
        return reply.status(429).header('retry-after', '5').send(errorBody(ERROR_CODES.RATE_LIMITED, error.message))
      return reply
        .status(503)
        .header('retry-after', '5')
        .send(errorBody(error.limit === 'timeout' ? ERROR_CODES.TIMEOUT : ERROR_CODES.UNAVAILABLE, error.message))
    }
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed')
      return reply.status(status).send(errorBody(ERROR_CODES.INTERNAL, 'Internal error; see the server log.'))
    }
    const message = error.validation
      ? `Invalid ${error.validationContext ?? 'request'}: ${error.message}`
      : error.message
    const code =
      {
        401: ERROR_CODES.UNAUTHORIZED,
        403: ERROR_CODES.FORBIDDEN,
        404: ERROR_CODES.NOT_FOUND,
        409: ERROR_CODES.CONFLICT,
        413: ERROR_CODES.PAYLOAD_TOO_LARGE,
        415: ERROR_CODES.UNSUPPORTED_MEDIA_TYPE,
        429: ERROR_CODES.RATE_LIMITED,
      }[status] ?? ERROR_CODES.BAD_REQUEST
    return reply.status(status).send(errorBody(code, message))
  })
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send(errorBody(ERROR_CODES.NOT_FOUND, `No route for ${request.method} ${request.url.split('?')[0]}`)),
  )
}
