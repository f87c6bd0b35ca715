// What the server asks of the run before there is one, while it runs and after it stops: its
// counters, whether it runs, and alert acknowledgements (refused, with why, when no run can take them).
import type { Alert } from '../../pipelines/schema.ts'
import { UnavailableError } from '../errors.ts'
import type { Running } from '../run.ts'

export class RunHandle {
  private run: Running | undefined
  private refusal = 'the pipeline is not running yet: try again in a moment'
  /** Everything this process counts besides the run's own counters (sources, webhooks, spools). */
  private extra = (): object => ({})

  started(run: Running, extra: () => object): void {
    this.run = run
    this.extra = extra
    this.refusal = ''
  }

  get running(): boolean {
    return this.run !== undefined
  }

  stats(): object {
    return this.run ? { ...this.run.stats(), ...this.extra() } : {}
  }

  /** Events waiting for the bus to take them (with a bus), for the webhook's backpressure. */
  unpublished(): number {
    return Number(
      (this.run?.stats() as { queues?: { busUnpublished?: number } } | undefined)?.queues?.busUnpublished ?? 0,
    )
  }

  /** Alerts are acknowledged only while a run pushes and stores the change. */
  acknowledge(id: string): Alert | null | Promise<Alert | null> {
    if (this.refusal || !this.run) throw new UnavailableError(this.refusal)
    return this.run.acknowledge(id)
  }

  /** From now on acknowledgements are refused, saying why. */
  stopAcknowledging(why: string): void {
    this.refusal = `${why}: alerts can no longer be acknowledged`
  }
}
