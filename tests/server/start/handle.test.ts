import { describe, expect, it } from 'vitest'
import type { Running } from '../../../server/run.ts'
import { RunHandle } from '../../../server/start/handle.ts'

const alert = { id: 'a1' } as never
const run = (): Running => ({
  stats: () => ({ stored: 3, queues: { busUnpublished: 7 } }),
  queues: () => ({ classify: 0, intakeFiles: 0, intakeBytes: 0 }),
  done: new Promise(() => {}),
  stop: async () => {},
  acknowledge: (id) => (id === 'a1' ? alert : null),
  summary: () => '',
})

describe('the run handle', () => {
  it('refuses acknowledgements before the run and after it stops taking them, saying why', () => {
    const handle = new RunHandle()
    expect(handle.running).toBe(false)
    expect(handle.stats()).toEqual({})
    expect(() => handle.acknowledge('a1')).toThrow('the pipeline is not running yet: try again in a moment')
    handle.started(run(), () => ({ webhooks: {} }))
    expect(handle.running).toBe(true)
    expect(handle.acknowledge('a1')).toBe(alert)
    expect(handle.acknowledge('nope')).toBeNull()
    expect(handle.stats()).toEqual({ stored: 3, queues: { busUnpublished: 7 }, webhooks: {} })
    expect(handle.unpublished()).toBe(7)
    handle.stopAcknowledging('Undertow is shutting down')
    expect(() => handle.acknowledge('a1')).toThrow('Undertow is shutting down: alerts can no longer be acknowledged')
  })
})
