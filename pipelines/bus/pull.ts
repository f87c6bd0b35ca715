// The loop both bus sources run: pull from a JetStream consumer, hand each message on, and start
// pulling again when the connection is lost (NATS reconnects by itself) until stopped.
import type { Consumer, JsMsg } from '@nats-io/jetstream'

/** How long after a failed pull the next one starts. */
const RETRY_MS = 1_000

export interface Pulling {
  /** Settles once stopped. */
  done: Promise<void>
  stop(): void
}

/** `onMessage` may wait (the pipeline is behind): the next message is handed on after it resolves. */
export function pullFrom(
  consumer: () => Promise<Consumer>,
  options: {
    maxMessages: number
    onMessage: (message: JsMsg, stopped: () => boolean) => void | Promise<void>
    onRestart?: () => void
  },
): Pulling {
  let stopped = false
  let stopPulling = () => {}
  const isStopped = () => stopped
  const done = (async () => {
    while (!stopped) {
      try {
        const messages = await (await consumer()).consume({ max_messages: options.maxMessages })
        stopPulling = () => messages.stop()
        if (stopped) messages.stop()
        for await (const message of messages) {
          if (stopped) break
          await options.onMessage(message, isStopped)
        }
      } catch {
        if (stopped) break
        options.onRestart?.()
        await new Promise((r) => setTimeout(r, RETRY_MS))
      }
    }
  })()
  return {
    done,
    stop() {
      stopped = true
      stopPulling()
    },
  }
}
