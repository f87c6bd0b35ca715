// Pacing the walls' ticker: a batch goes out at once when the last push is old enough, and the
// batches that come sooner wait together for the next slot (pure, and on virtual time).
import { TestScheduler } from 'rxjs/testing'
import { describe, expect, it } from 'vitest'
import { pace, paceOne } from '../../../pipelines/transforms/pace.ts'

const virtual = () => new TestScheduler((a, b) => expect(a).toEqual(b))

describe('pace', () => {
  it('sends at once past the interval, and says how long to wait inside it', () => {
    expect(paceOne(Number.NEGATIVE_INFINITY, 0, 250)).toEqual({ send: true })
    expect(paceOne(1_000, 1_250, 250)).toEqual({ send: true })
    expect(paceOne(1_000, 1_100, 250)).toEqual({ send: false, waitMs: 150 })
  })

  it('passes a lone batch through with no delay', () => {
    virtual().run(({ cold, expectObservable }) => {
      expectObservable(cold('a 499ms b 499ms |', { a: [1, 2], b: [3] }).pipe(pace<number>(250))).toBe(
        'a 499ms b 499ms |',
        { a: [1, 2], b: [3] },
      )
    })
  })

  it('joins the batches that come within the interval, and sends them at its end', () => {
    virtual().run(({ cold, expectObservable }) => {
      // a goes at 0; b (50 ms) and c (100 ms) wait for the slot at 250 ms; d (400 ms) is 150 ms
      // after that slot, so it waits until 500 ms.
      const paced$ = cold('a 49ms b 49ms c 299ms d 199ms |', { a: [1], b: [2], c: [3, 4], d: [5] }).pipe(
        pace<number>(250),
      )
      expectObservable(paced$).toBe('a 249ms x 249ms y 99ms |', { a: [1], x: [2, 3, 4], y: [5] })
    })
  })

  it('sends what it holds when its input completes, and skips empty batches', () => {
    virtual().run(({ cold, expectObservable }) => {
      const paced$ = cold('a 9ms e 9ms b 9ms |', { a: [1], e: [], b: [2] }).pipe(pace<number>(250))
      expectObservable(paced$).toBe('a 29ms (b|)', { a: [1], b: [2] })
    })
  })

  it('passes an error on', () => {
    virtual().run(({ cold, expectObservable }) => {
      expectObservable(cold('a #', { a: [1] }).pipe(pace<number>(250))).toBe('a #', { a: [1] })
    })
  })
})
