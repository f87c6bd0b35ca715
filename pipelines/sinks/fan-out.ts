// One live output in front of several: the socket.io walls, and the webhooks, each taking what it
// handles. A throwing output is reported and does not keep the others from their push.
import type { Live } from '../contract.ts'

export function fanOut(outputs: readonly Live[], onError: (error: unknown) => void): Live {
  return {
    push(feed, value) {
      for (const output of outputs) {
        try {
          output.push(feed, value)
        } catch (error) {
          onError(error)
        }
      }
    },
  }
}
