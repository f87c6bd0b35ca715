// The contract every source keeps (each connector adds itself to SOURCES): it emits only events
// the schema accepts, post ids are unique and carry the source's name, engagement updates refer to
// posts it emitted before, and it stops cleanly when unsubscribed.
import { firstValueFrom, type Observable, take, toArray } from 'rxjs'
import { Compile } from 'typebox/compile'
import { describe, expect, it } from 'vitest'
import { EngagementUpdate, Post, type SourceEvent } from '../../pipelines/schema.ts'
import { simulatorSource } from '../../pipelines/sources/simulator.ts'
import { scenario, SEED } from '../support/fixtures.ts'

const SOURCES: [string, () => Observable<SourceEvent>][] = [['simulator', () => simulatorSource({ scenario, seed: SEED, speed: Infinity, until: 3600 })]]
const isPost = Compile(Post)
const isUpdate = Compile(EngagementUpdate)

describe.each(SOURCES)('source contract: %s', (name, make) => {
  it('emits only schema-valid posts and engagement updates, with unique ids of its own', async () => {
    const events = await firstValueFrom(make().pipe(toArray()))
    expect(events.length).toBeGreaterThan(100)
    const seen = new Set<string>()
    for (const e of events) {
      if (e.kind === 'post') {
        expect(isPost.Check(e.post), JSON.stringify([...isPost.Errors(e.post)].slice(0, 2))).toBe(true)
        expect(e.post.source).toBe(name)
        expect(e.post.id.startsWith(`${name}:`)).toBe(true)
        expect(seen.has(e.post.id)).toBe(false)
        seen.add(e.post.id)
      } else {
        expect(isUpdate.Check(e.update)).toBe(true)
        expect(seen.has(e.update.postId)).toBe(true)
      }
    }
  })

  it('stops producing when unsubscribed', async () => {
    const first = await firstValueFrom(make().pipe(take(10), toArray()))
    expect(first).toHaveLength(10)
  })
})
