// Where the live figures go from this process: its own walls (socket.io), the other processes'
// walls (the relay through Redis, from the live process), and the alert and team webhooks.
import type { Live } from '../../pipelines/contract.ts'
import type { DeadLetter } from '../../pipelines/sinks/deadletter.ts'
import { fanOut } from '../../pipelines/sinks/fan-out.ts'
import type { LiveView } from '../../pipelines/sinks/live-memory.ts'
import { liveRelay, receiveLive, type ServerSide } from '../../pipelines/sinks/relay.ts'
import { type Broadcaster, SocketIoSink } from '../../pipelines/sinks/socketio.ts'
import { WebhookPoster, WebhookSink } from '../../pipelines/sinks/webhook.ts'
import type { Config, routingOf } from '../config.ts'
import type { Layout } from './layout.ts'

export function webhooksOf(
  config: Pick<Config, 'ALERT_WEBHOOK_URL'>,
  routing: ReturnType<typeof routingOf>,
  deadLetter: DeadLetter,
): WebhookSink {
  return new WebhookSink(
    config.ALERT_WEBHOOK_URL ? new WebhookPoster('the alert webhook', config.ALERT_WEBHOOK_URL, deadLetter) : undefined,
    new Map(
      [...routing.webhooks].map(([team, url]) => [team, new WebhookPoster(`${team}'s webhook`, url, deadLetter)]),
    ),
  )
}

/**
 * Through the Redis adapter each web process emits to its own walls only (io.local): the live
 * process's pushes reach every web process already.
 */
export function liveOutputs(
  layout: Layout,
  io: ServerSide & Broadcaster & { local: Broadcaster },
  view: LiveView,
  webhooks: WebhookSink,
  onError: (error: unknown) => void,
): Live {
  const { roles, scaled, cluster } = layout
  const walls = new SocketIoSink(cluster ? io.local : io, view)
  if (cluster && roles.has('web') && !roles.has('live')) receiveLive(io, walls, onError)
  return fanOut(
    [
      ...(!scaled || roles.has('web') ? [walls] : []),
      ...(cluster && roles.has('live') ? [liveRelay(io)] : []),
      webhooks,
    ],
    onError,
  )
}
