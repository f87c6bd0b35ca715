import { firstValueFrom, Observable, toArray } from 'rxjs'
import { describe, expect, it } from 'vitest'
import type { Post } from '../../../pipelines/schema.ts'
import { classify, CLASSIFY_BATCH_MS } from '../../../pipelines/transforms/classify.ts'
import { failingFirstBatch, MemoryDeadLetter } from '../../support/fixtures.ts'
import { post } from '../../support/posts.ts'

describe('classify', () => {
  it('dead-letters a batch the model fails on and carries on with the next', async () => {
    const flaky = failingFirstBatch('model exploded')
    const deadLetter = new MemoryDeadLetter()
    const first = post({ id: 'webhook:1' })
    const second = post({ id: 'webhook:2' })
    const out = await firstValueFrom(
      // Two batches: the second post arrives after the first batch has closed.
      new Observable<Post>((sub) => {
        sub.next(first)
        setTimeout(() => {
          sub.next(second)
          sub.complete()
        }, CLASSIFY_BATCH_MS * 3)
      }).pipe(classify(flaky, deadLetter), toArray()),
    )
    expect(out.map((p) => p.id)).toEqual(['webhook:2'])
    expect(deadLetter.records).toMatchObject([
      { stage: 'classify', reason: expect.stringContaining('model exploded'), payload: { id: 'webhook:1' } },
    ])
  })
})
