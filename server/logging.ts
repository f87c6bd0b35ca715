// The log's form: readable lines in a terminal (pino-pretty), one JSON object a line otherwise
// (for a collector). Requests are logged at debug, not at Fastify's info: at LOG_LEVEL=info the log
// says what the pipeline does, not every page load of every wall; LOG_LEVEL=debug adds them.
import { type FastifyReply, type FastifyRequest, type FastifyServerOptions, LogController } from 'fastify'
import pretty from 'pino-pretty'

export function loggerOptions(
  level: string,
  terminal = process.stdout.isTTY === true,
): NonNullable<FastifyServerOptions['logger']> {
  if (!terminal) return { level }
  // In the process, synchronously: a line is on screen before an exit that follows it. A request's
  // line says what it was (below); its objects would take a dozen lines each.
  return {
    level,
    stream: pretty({
      sync: true,
      colorize: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,reqId,req,res,responseTime',
    }),
  }
}

/** Fastify's own request lines at debug, one per request (errors keep their level). */
export class RequestLogs extends LogController {
  override incomingRequest(): void {
    // The completed line says it all; one line per request.
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) return super.requestCompleted(error, request, reply)
    reply.log.debug(
      { req: request, res: reply, responseTime: reply.elapsedTime },
      `${request.method} ${request.url} ${reply.statusCode} ${reply.elapsedTime.toFixed(1)} ms`,
    )
  }
}
