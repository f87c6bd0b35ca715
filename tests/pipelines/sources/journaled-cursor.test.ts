// A live source's cursor over a real intake journal: no cursor is saved across an event the
// journal did not keep (a failed write, a refused append) until the source has gone back to its
// saved cursor; a source that finds the journal without room pauses, goes back, and every event is
// in the journal in the end, with the saved cursor never past one that is not.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { map, Observable } from 'rxjs'
import { afterAll, describe, expect, it, vi } from 'vitest'
import type { SourceEvent } from '../../../pipelines/schema.ts'
import { Journal } from '../../../pipelines/sinks/journal.ts'
import { JournaledCursorFile, rewinding } from '../../../pipelines/sources/journaled-cursor.ts'
import { tmpDir } from '../../support/tmp.ts'

const dirs = tmpDir('journaled-cursor')
afterAll(() => dirs.remove())
let n = 0
const folder = () => join(dirs.path, String(n++))
type Cursor = { t: number }
const isCursor = (v: unknown): v is Cursor => typeof (v as Cursor | null)?.t === 'number'
const event = (i: number): SourceEvent => ({
  kind: 'delete',
  postId: `live:${i}`,
  at: new Date(Date.UTC(2026, 10, 23, 10, 0, i % 60)).toISOString(),
})
const savedAt = (path: string) => (JSON.parse(readFileSync(path, 'utf8')) as Cursor).t

describe('a cursor saved through the intake journal', () => {
  it('is saved only once the events before it are through their datasync', async () => {
    const dir = folder()
    const journal = new Journal(join(dir, 'intake'), 1 << 30)
    const cursor = new JournaledCursorFile<Cursor>(join(dir, 'cursor.json'), journal)
    cursor.load(isCursor)
    const probe = await open(join(dir, 'probe'), 'w')
    await probe.close()
    const proto = Object.getPrototypeOf(probe) as { datasync(): Promise<void> }
    const { datasync } = proto
    let synced = false
    const slow = vi.spyOn(proto, 'datasync').mockImplementation(async function (this: unknown) {
      await new Promise((r) => setTimeout(r, 100))
      await datasync.call(this)
      synced = true
    })
    journal.append([event(1)])
    cursor.save({ t: 1 })
    await new Promise((r) => setTimeout(r, 50))
    expect(existsSync(cursor.path)).toBe(false)
    await cursor.saved()
    expect(synced).toBe(true)
    expect(savedAt(cursor.path)).toBe(1)
    slow.mockRestore()
    await journal.close()
  })

  it('is not saved past events a failed write lost, until the source has gone back to the saved cursor', async () => {
    const dir = folder()
    const journal = new Journal(join(dir, 'intake'), 1 << 30)
    const cursor = new JournaledCursorFile<Cursor>(join(dir, 'cursor.json'), journal)
    cursor.load(isCursor)
    journal.append([event(1)])
    cursor.save({ t: 1 })
    await cursor.saved()
    // The segment is closed and the folder gone: the next segment cannot be made (ENOENT); event 2 is not on disk.
    journal.tick(Date.now() + 60_000)
    rmSync(join(dir, 'intake'), { recursive: true })
    journal.append([event(2)])
    cursor.save({ t: 2 })
    await cursor.saved()
    expect(savedAt(cursor.path)).toBe(1)
    // The disk is back: event 3 is written, but a cursor after it would pass event 2.
    mkdirSync(join(dir, 'intake'))
    journal.append([event(3)])
    cursor.save({ t: 3 })
    await cursor.saved()
    expect(cursor.stale).toBe(true)
    expect(savedAt(cursor.path)).toBe(1)
    // The source reads again from its saved cursor: its later cursors are saved again.
    expect(cursor.load(isCursor)).toEqual({ t: 1 })
    journal.append([event(2), event(3)])
    cursor.save({ t: 3 })
    await cursor.saved()
    expect(savedAt(cursor.path)).toBe(3)
    await journal.close()
  })

  it('is not saved past an event a full journal refused', async () => {
    const dir = folder()
    const journal = new Journal(join(dir, 'intake'), 100)
    const cursor = new JournaledCursorFile<Cursor>(join(dir, 'cursor.json'), journal)
    cursor.load(isCursor)
    expect(journal.append([event(1)]).ok).toBe(true)
    cursor.save({ t: 1 })
    expect(journal.append([event(2)]).ok).toBe(false)
    cursor.save({ t: 2 })
    await cursor.saved()
    expect(savedAt(cursor.path)).toBe(1)
    await journal.close()
  })

  it('is not saved while what the source dead-lettered before it is not on disk', async () => {
    const dir = folder()
    const journal = new Journal(join(dir, 'intake'), 1 << 30)
    let diskFull = true
    const cursor = new JournaledCursorFile<Cursor>(join(dir, 'cursor.json'), journal, () =>
      diskFull ? Promise.reject(new Error('ENOSPC')) : Promise.resolve(),
    )
    cursor.load(isCursor)
    journal.append([event(1)])
    cursor.save({ t: 1 })
    await cursor.saved()
    expect(existsSync(cursor.path)).toBe(false)
    diskFull = false
    cursor.save({ t: 2 })
    await cursor.saved()
    expect(savedAt(cursor.path)).toBe(2)
    await journal.close()
  })

  it('does not end the process when a later save fails while an earlier one still waits', async () => {
    const dir = folder()
    // An earlier save waits 100 ms for its group; the next one's dead-letter flush fails at once.
    let group = 0
    const journal = {
      durable: () => (group++ === 0 ? new Promise<void>((r) => setTimeout(r, 100)) : Promise.resolve()),
      failures: () => 0,
    }
    let flushes = 0
    const cursor = new JournaledCursorFile<Cursor>(join(dir, 'cursor.json'), journal, () =>
      flushes++ === 0 ? undefined : Promise.reject(new Error('ENOSPC')),
    )
    cursor.load(isCursor)
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    cursor.save({ t: 1 })
    cursor.save({ t: 2 })
    await cursor.saved()
    await new Promise((r) => setTimeout(r, 20))
    process.off('unhandledRejection', onUnhandled)
    expect(unhandled).toEqual([])
    expect(savedAt(cursor.path)).toBe(1)
    expect(cursor.lastError).toMatch(/ENOSPC/)
  })

  it('pauses a source while the journal has no room, and it goes back to its cursor: every event is kept, none passed', async () => {
    const dir = folder()
    const TOTAL = 60
    // Room for a few events at a time; the "store" below frees it slowly.
    const journal = new Journal(join(dir, 'intake'), 1_200, { segmentMs: 10 })
    const cursor = new JournaledCursorFile<Cursor>(join(dir, 'cursor.json'), journal)
    const subscriptions: number[] = []
    // A live source as the real ones are: loads its cursor on subscribing, saves it as it reads, and once more at the end.
    const source$ = new Observable<number>((subscriber) => {
      let t = cursor.load(isCursor)?.t ?? 0
      subscriptions.push(t)
      const timer = setInterval(() => {
        if (t >= TOTAL) return subscriber.complete()
        subscriber.next(++t)
        cursor.save({ t })
      }, 1)
      return () => {
        clearInterval(timer)
        cursor.save({ t })
      }
    })
    const appended = new Set<number>()
    const kept = new Set<number>()
    let passedCursor = 0
    const store = setInterval(() => {
      for (const { event: e, segment } of journal.read(2)) {
        kept.add(Number(e.kind === 'delete' ? e.postId.slice('live:'.length) : 0))
        journal.settle(segment)
      }
      journal.tick()
      // The saved cursor never passes an event the journal does not hold (or held).
      try {
        const t = savedAt(cursor.path)
        for (let i = 1; i <= t; i++) if (!appended.has(i)) passedCursor = Math.max(passedCursor, i)
      } catch {
        // none saved yet
      }
    }, 15)
    await new Promise<void>((done) => {
      rewinding(source$.pipe(map(event)), cursor, () => journal.hasRoom(200), {
        backoff: { initialMs: 20, maxMs: 80 },
      }).subscribe({
        next(e) {
          if (journal.append([e]).ok) appended.add(Number(e.kind === 'delete' ? e.postId.slice('live:'.length) : 0))
        },
        complete: done,
      })
    })
    await journal.durable()
    await new Promise((r) => setTimeout(r, 200))
    clearInterval(store)
    expect(subscriptions.length).toBeGreaterThan(1)
    expect(passedCursor).toBe(0)
    expect([...kept].sort((a, b) => a - b)).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1))
    await journal.close()
  })
})
