// The contract every source keeps (each connector adds itself to SOURCES): it emits only events
// the schema accepts, post ids are unique and carry the source's name, engagement updates refer to
// posts it emitted before, and it stops cleanly when unsubscribed.
import { firstValueFrom, type Observable, type SchedulerLike, toArray, VirtualTimeScheduler } from 'rxjs'
import { Compile } from 'typebox/compile'
import { describe, expect, it } from 'vitest'
import { EngagementUpdate, Post, type SourceEvent } from '../../pipelines/schema.ts'
import { simulatorSource } from '../../pipelines/sources/simulator.ts'
import { scenario, SEED } from '../support/fixtures.ts'

type Make = (options: { scheduler?: SchedulerLike; paced?: boolean }) => Observable<SourceEvent>
const SOURCES: [string, Make][] = [
  [
    'simulator',
    ({ scheduler, paced }) =>
      simulatorSource({
        scenario,
        seed: SEED,
        speed: paced ? 60 : Infinity,
        until: paced ? undefined : 3600,
        scheduler,
      }),
  ],
]
const isPost = Compile(Post)
const isUpdate = Compile(EngagementUpdate)

describe.each(SOURCES)('source contract: %s', (name, make) => {
  it('emits only schema-valid posts and engagement updates, with unique ids of its own', async () => {
    const events = await firstValueFrom(make({}).pipe(toArray()))
    expect(events.length).toBeGreaterThan(100)
    const seen = new Set<string>()
    for (const e of events) {
      if (e.kind === 'post') {
        expect(isPost.Check(e.post), JSON.stringify([...isPost.Errors(e.post)].slice(0, 2))).toBe(true)
        expect(e.post.source).toBe(name)
        expect(e.post.id.startsWith(`${name}:`)).toBe(true)
        expect(seen.has(e.post.id)).toBe(false)
        seen.add(e.post.id)
      } else if (e.kind === 'engagement') {
        expect(isUpdate.Check(e.update)).toBe(true)
        expect(seen.has(e.update.postId)).toBe(true)
      }
    }
  })

  it('stops producing and scheduling when unsubscribed', () => {
    const scheduler = new VirtualTimeScheduler(undefined, 60_000)
    let seen = 0
    const subscription = make({ scheduler, paced: true }).subscribe(() => seen++)
    scheduler.schedule(() => subscription.unsubscribe(), 10_000)
    scheduler.flush()
    const atUnsubscribe = seen
    expect(atUnsubscribe).toBeGreaterThan(0)
    // Nothing left scheduled: the virtual clock stopped where the unsubscribe happened.
    expect(scheduler.actions).toHaveLength(0)
    expect(scheduler.frame).toBeLessThanOrEqual(10_000)
    expect(seen).toBe(atUnsubscribe)
  })
})
