import type { Live } from '../contract.ts'
// One live output in front of several: the socket.io walls, and the webhooks, each taking what it
// handles. A throwing output is reported and does not keep the others from their push.

export function fanOut(outputs: readonly Partial<Live>[], onError: (error: unknown) => void): Live {
  const each =
    <K extends keyof Live>(method: K) =>
    (...args: Parameters<Live[K]>): void => {
      for (const output of outputs) {
        const push = output[method] as ((...a: Parameters<Live[K]>) => void) | undefined
        try {
          push?.apply(output, args)
        } catch (error) {
          onError(error)
        }
      }
    }
  return {
    pushWindows: each('pushWindows'),
    pushPosts: each('pushPosts'),
    pushMetrics: each('pushMetrics'),
    pushRisk: each('pushRisk'),
    pushResponsiveness: each('pushResponsiveness'),
    pushDialogue: each('pushDialogue'),
    pushAlert: each('pushAlert'),
    pushTeamPosts: each('pushTeamPosts'),
  }
}
