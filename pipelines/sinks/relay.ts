// The live figures between processes: the one live process sends each push to every web process
// through socket.io's Redis adapter (server-side events), and each web process hands it to its own
// socket.io sink, which keeps its view for new walls' snapshots and emits to the walls connected to
// it. So a wall sees the same deltas whichever web process it reached. Acknowledgements go the other
// way: a web process asks the live process, which holds the alerts.
import type { Alert } from '../schema.ts'
import type { Live } from '../contract.ts'
import { FEED_NAMES, type FeedName } from '../live-feeds.ts'

export const LIVE_EVENT = 'undertow:live'
export const ACKNOWLEDGE_EVENT = 'undertow:acknowledge'

/** The part of a socket.io Server the relay uses (with an adapter that reaches other servers). */
export interface ServerSide {
  serverSideEmit(event: string, ...args: unknown[]): boolean
  serverSideEmitWithAck(event: string, ...args: unknown[]): Promise<unknown[]>
  on(event: string, listener: (...args: never[]) => void): unknown
}

/** The live process's output: every push, to the other servers. */
export function liveRelay(io: ServerSide): Live {
  return { push: (feed, value) => void io.serverSideEmit(LIVE_EVENT, feed, value) }
}

/** A web process's input: the live process's pushes, handed to this process's sink. */
export function receiveLive(io: ServerSide, sink: Live, onError: (error: unknown) => void): void {
  io.on(LIVE_EVENT, ((feed: unknown, value: unknown) => {
    if (!(FEED_NAMES as readonly unknown[]).includes(feed))
      return onError(new Error(`a live push of an unknown kind (${String(feed)}) was ignored`))
    try {
      sink.push(feed as FeedName, value as never)
    } catch (error) {
      onError(error)
    }
  }) as (...args: never[]) => void)
}

/** The live process answers acknowledgements asked of it by the web processes (`acknowledge` may throw). */
export function answerAcknowledgements(io: ServerSide, acknowledge: (id: string) => Alert | null): void {
  io.on(ACKNOWLEDGE_EVENT, ((id: unknown, reply: (answer: { alert: Alert | null } | { error: string }) => void) => {
    if (typeof reply !== 'function') return
    try {
      reply({ alert: typeof id === 'string' ? acknowledge(id) : null })
    } catch (error) {
      reply({ error: error instanceof Error ? error.message : String(error) })
    }
  }) as (...args: never[]) => void)
}

/**
 * What the other servers answered: the alert acknowledged, null when none holds it open, or why it
 * could not be. Rejects when a server does not answer within the adapter's request timeout.
 */
export async function askAcknowledge(io: ServerSide, id: string): Promise<Alert | null> {
  type Answer = { alert: Alert | null } | { error: string } | undefined
  // A server slow to answer (one starting) fails the request, with the answers that came: the live
  // process's among them says whether the alert was acknowledged.
  const answers = (await io.serverSideEmitWithAck(ACKNOWLEDGE_EVENT, id).catch((error: { responses?: unknown[] }) => {
    if (
      Array.isArray(error?.responses) &&
      error.responses.some((a) => (a as Answer) && 'alert' in (a as object) && (a as { alert: unknown }).alert)
    )
      return error.responses
    throw error
  })) as Answer[]
  const acknowledged = answers.find((a) => a && 'alert' in a && a.alert)
  if (acknowledged && 'alert' in acknowledged) return acknowledged.alert
  const refused = answers.find((a) => a && 'error' in a)
  if (refused && 'error' in refused) throw new Error(refused.error)
  return null
}
