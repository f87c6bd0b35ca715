// The intake journal on a real folder: what `durable()` promised is in the files, appends of one
// moment share one write, a reopened journal hands back what was left in order (a torn last line is
// reported, not passed on), a segment goes only once read and settled, and a full one refuses.
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import type { ScoredPost, SourceEvent } from '../../../pipelines/schema.ts'
import { DeadLetterFile } from '../../../pipelines/sinks/deadletter.ts'
import { Journal, SEGMENT_MS } from '../../../pipelines/sinks/journal.ts'
import { GIVE_BACK_LIMIT, IntakeSettlement, RETRY_BACKOFF } from '../../../pipelines/transforms/admit.ts'
import { tmpDir } from '../../support/tmp.ts'

const dirs = tmpDir('journal')
afterAll(() => dirs.remove())
let n = 0
const folder = () => join(dirs.path, String(n++))
const event = (i: number): SourceEvent => ({
  kind: 'delete',
  postId: `webhook:${i}`,
  at: new Date(Date.UTC(2026, 10, 23, 10, 0, i % 60)).toISOString(),
})
const ids = (read: { event: SourceEvent }[]) => read.map((r) => (r.event.kind === 'delete' ? r.event.postId : '?'))
const files = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.ndjson'))

describe('the intake journal', () => {
  it('is on disk once durable() resolves, with one write for the appends of one moment', async () => {
    const dir = folder()
    const journal = new Journal(dir, 1 << 30)
    for (let i = 0; i < 100; i++) expect(journal.append([event(i)])).toEqual({ ok: true })
    // One group: every append of this moment waits for the same write and fsync.
    const durable = journal.durable()
    expect(journal.durable()).toBe(durable)
    await durable
    const lines = readFileSync(join(dir, files(dir)[0]!), 'utf8')
      .trimEnd()
      .split('\n')
    expect(lines.map((l) => (JSON.parse(l) as { postId: string }).postId)).toEqual(
      Array.from({ length: 100 }, (_, i) => `webhook:${i}`),
    )
    await journal.close()
  })

  it('hands what the last run left back in order, first, and reports a line a crash cut short', async () => {
    const dir = folder()
    const first = new Journal(dir, 1 << 30)
    first.append([event(1), event(2), event(3)])
    await first.durable()
    await first.close()
    // A crash in the middle of a write: the last line has no end.
    appendFileSync(join(dir, files(dir)[0]!), '{"kind":"delete","postId":"webh')
    const lost: string[] = []
    const again = new Journal(dir, 1 << 30)
    again.onLost = (reason) => lost.push(reason)
    expect(again.caughtUp()).toBe(false)
    again.append([event(4)])
    await again.durable()
    expect(ids(again.read(10))).toEqual(['webhook:1', 'webhook:2', 'webhook:3', 'webhook:4'])
    expect(lost).toEqual([expect.stringContaining('cut short by a crash')])
    expect(again.caughtUp()).toBe(true)
    await again.close()
  })

  it('goes straight to a caught-up reader, and deletes a segment only once read and every event in it settled', async () => {
    const dir = folder()
    const journal = new Journal(dir, 1 << 30)
    const settlement = new IntakeSettlement(journal)
    const passed: SourceEvent[] = []
    // The reader takes a post (a later stage takes its key) and anything else passes untaken.
    journal.reader = (e, segment) => {
      settlement.follow(e, segment, () => {
        passed.push(e)
        if (e.kind === 'delete' && e.postId.endsWith('1')) settlement.taken(`delete:${e.postId}`)
      })
      return true
    }
    journal.append([event(1), event(2)])
    await journal.durable()
    expect(passed).toHaveLength(2)
    // Old enough to close: but event 1 is not settled, so its file stays.
    journal.tick(Date.now() + SEGMENT_MS)
    expect(files(dir)).toHaveLength(1)
    settlement.settled('delete:webhook:1')
    expect(files(dir)).toEqual([])
    expect(journal.pending()).toBe(0)
    // The next event starts a new segment, and goes straight on too.
    journal.append([event(3)])
    await journal.durable()
    expect(passed).toHaveLength(3)
    await journal.close()
    expect(files(dir)).toEqual([])
  })

  it('deletes a settled segment only once the dead-letter record holds what was refused on the way', async () => {
    const dir = folder()
    const journal = new Journal(dir, 1 << 30)
    const settlement = new IntakeSettlement(journal)
    let recorded = () => {}
    journal.beforeDelete = () => new Promise<void>((r) => (recorded = r))
    // The event is refused (dead-lettered) by a later stage, which settles it.
    journal.reader = (e, segment) => {
      settlement.follow(e, segment, () => settlement.taken(`delete:${e.kind === 'delete' ? e.postId : ''}`))
      return true
    }
    journal.append([event(1)])
    await journal.durable()
    journal.tick(Date.now() + SEGMENT_MS)
    settlement.settled('delete:webhook:1')
    expect(journal.pending()).toBe(0)
    // A crash now must find the event again: its dead-letter record is not on disk yet.
    expect(files(dir)).toHaveLength(1)
    recorded()
    await new Promise((r) => setTimeout(r, 10))
    expect(files(dir)).toEqual([])
    await journal.close()
  })

  it("keeps a settled segment's file while its dead-letter record cannot be written, and deletes it once it is", async () => {
    const dir = folder()
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    // The dead-letter file's folder is a file: every write fails, as on a full disk.
    const records = join(dir, 'records')
    const deadLetter = new DeadLetterFile(join(records, 'dead-letter.ndjson'))
    rmSync(records, { recursive: true })
    writeFileSync(records, 'not a folder')
    const journal = new Journal(join(dir, 'intake'), 1 << 30)
    const settlement = new IntakeSettlement(journal)
    journal.beforeDelete = () => deadLetter.flush()
    journal.reader = (e, segment) => {
      settlement.follow(e, segment, () => settlement.taken('delete:webhook:1'))
      return true
    }
    journal.append([event(1)])
    await journal.durable()
    journal.tick(Date.now() + SEGMENT_MS)
    // Refused on the way: dead-lettered, and settled.
    deadLetter.record('store:post_deletions', 'refused', event(1))
    settlement.settled('delete:webhook:1')
    await new Promise((r) => setTimeout(r, 1_200))
    expect(files(join(dir, 'intake'))).toHaveLength(1)
    // The disk takes records again: the record is written, then the segment goes.
    rmSync(records)
    mkdirSync(records)
    await expect.poll(() => files(join(dir, 'intake')), { timeout: 5_000, interval: 50 }).toEqual([])
    expect(readFileSync(join(records, 'dead-letter.ndjson'), 'utf8')).toContain('"refused"')
    stderr.mockRestore()
    await journal.close()
    await deadLetter.close()
  })

  it('lets the segments of a post sent again and again go once it is stored, though copies are always in flight', async () => {
    const dir = folder()
    const journal = new Journal(dir, 1 << 30)
    const settlement = new IntakeSettlement(journal)
    const key = 'post:webhook:again'
    journal.reader = (e, segment) => {
      settlement.follow(e, segment, () => settlement.taken(key))
      return true
    }
    // A sender re-posts its latest post every moment: a new copy is taken before the last is done.
    for (let round = 0; round < 6; round++) {
      journal.append([event(round)])
      await journal.durable()
      journal.tick(Date.now() + SEGMENT_MS)
      // The copy before is done with: stored the first time, a duplicate of it after.
      if (round > 0) settlement.settled(key, { post: {} as ScoredPost, shown: true }, round > 1)
    }
    expect(files(dir)).toEqual([])
    expect(journal.pending()).toBe(0)
    await journal.close()
  })

  it('dead-letters an event given back GIVE_BACK_LIMIT times, and lets its segment go', async () => {
    const dir = folder()
    const journal = new Journal(dir, 1 << 30)
    let clock = 0
    const settlement = new IntakeSettlement(journal, () => clock)
    const given: { event: SourceEvent; tries: number }[] = []
    settlement.giveUp = (event, tries) => given.push({ event, tries })
    const key = 'delete:webhook:1'
    // Each time it is scored the classifier's thread stops: it comes back every time.
    const take = () => {
      settlement.taken(key)
      queueMicrotask(() => settlement.givenBack(key))
    }
    journal.reader = (e, segment) => {
      settlement.follow(e, segment, take)
      return true
    }
    journal.append([event(1)])
    await journal.durable()
    journal.tick(Date.now() + SEGMENT_MS)
    for (let i = 0; i < GIVE_BACK_LIMIT + 5 && given.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 0))
      clock += RETRY_BACKOFF.maxMs
      settlement.retryDue(() => take())
    }
    expect(given).toEqual([{ event: event(1), tries: GIVE_BACK_LIMIT }])
    expect(settlement.holding()).toBe(false)
    expect(journal.pending()).toBe(0)
    expect(files(dir)).toEqual([])
    await journal.close()
  })

  it('keeps on disk what a busy reader refused, for it to read later in order', async () => {
    const dir = folder()
    const journal = new Journal(dir, 1 << 30)
    let room = 1
    const passed: string[] = []
    journal.reader = (e) => {
      if (room-- <= 0) return false
      passed.push(e.kind === 'delete' ? e.postId : '?')
      return true
    }
    journal.append([event(1), event(2), event(3)])
    expect(passed).toEqual(['webhook:1'])
    expect(journal.read(10)).toEqual([]) // not written yet
    await journal.durable()
    expect(journal.waiting().segments).toBe(1)
    expect(ids(journal.read(10))).toEqual(['webhook:2', 'webhook:3'])
    expect(journal.waiting()).toEqual({ segments: 0, bytes: 0 })
    await journal.close()
  })

  it('refuses appends past its bound of bytes not yet written, and takes them again once written', async () => {
    const journal = new Journal(folder(), 1 << 30, { maxUnwrittenBytes: 200 })
    expect(journal.append([event(1), event(2)])).toEqual({ ok: true })
    expect(journal.hasRoom(100)).toBe(false)
    expect(journal.append([event(3), event(4)])).toEqual({
      ok: false,
      reason: expect.stringContaining('wait to be written'),
    })
    await journal.durable()
    expect(journal.append([event(3), event(4)])).toEqual({ ok: true })
    await journal.durable()
    expect(ids(journal.read(10))).toEqual(['webhook:1', 'webhook:2', 'webhook:3', 'webhook:4'])
    await journal.close()
  })

  it('reads back a line longer than one read, and the lines around it, in order', async () => {
    const dir = folder()
    const first = new Journal(dir, 1 << 30)
    const long: SourceEvent = {
      kind: 'delete',
      postId: `webhook:${'x'.repeat(3 * 1024 * 1024)}`,
      at: new Date(Date.UTC(2026, 10, 23, 10)).toISOString(),
    }
    first.append([event(1), long, event(2)])
    await first.durable()
    await first.close()
    const again = new Journal(dir, 1 << 30)
    const read = [...again.read(2), ...again.read(10)]
    expect(read.map((r) => (r.event.kind === 'delete' ? r.event.postId.length : 0))).toEqual([
      'webhook:1'.length,
      long.postId.length,
      'webhook:2'.length,
    ])
    expect(again.caughtUp()).toBe(true)
    await again.close()
  })

  it('refuses what would pass its bound, appending nothing', async () => {
    const journal = new Journal(folder(), 150)
    expect(journal.append([event(1)])).toEqual({ ok: true })
    expect(journal.append([event(2), event(3), event(4)])).toEqual({
      ok: false,
      reason: expect.stringContaining('the intake journal is full'),
    })
    await journal.durable()
    expect(ids(journal.read(10))).toEqual(['webhook:1'])
    await journal.close()
    expect(journal.append([event(5)])).toEqual({ ok: false, reason: expect.stringContaining('closed') })
  })
})
