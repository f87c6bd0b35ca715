// The sink through a store outage, in virtual time: batches that cannot be written go to the real
// on-disk spool (accepted, so the pipeline goes on), later batches queue behind them to keep order,
// and the spool drains oldest first when the store is back; a spool left by a crash drains before
// anything new. (The end-to-end version, with a real ClickHouse server killed mid-stream, is
// tests/pipelines/store/outage.test.ts.)
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { from, map, type Observable, of, throwError, timer } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { clickhouseSink } from '../../../pipelines/sinks/clickhouse.ts'
import { Spool } from '../../../pipelines/sinks/spool.ts'
import { replaceDurably, writeAll } from '../../../pipelines/sinks/durable-file.ts'
import { CursorFile } from '../../../pipelines/sources/cursor-file.ts'
import { MemoryDeadLetter } from '../../support/fixtures.ts'
import { tmpDir } from '../../support/tmp.ts'

const dir = tmpDir('spool')
afterAll(() => dir.remove())
let n = 0
const freshSpool = (maxBytes = 1 << 20) => new Spool<string>(join(dir.path, `spool-${++n}`), maxBytes)

/** A store that refuses every write while `down(now)` holds. */
function flakyStore(scheduler: TestScheduler, down: (now: number) => boolean) {
  const stored: string[] = []
  const write = (batch: string[]): Observable<string[]> => {
    if (down(scheduler.now())) return throwError(() => new Error('connect ECONNREFUSED 127.0.0.1:8123'))
    stored.push(...batch)
    return of(batch)
  }
  return { stored, write }
}

function run(body: (scheduler: TestScheduler, helpers: Parameters<Parameters<TestScheduler['run']>[0]>[0]) => void) {
  const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b))
  scheduler.run((helpers) => body(scheduler, helpers))
}

/** A sink started on a spool folder left as it is, with a healthy store and no new input. */
function drainAtStart(dir: string) {
  const deadLetter = new MemoryDeadLetter()
  let stored: string[] = []
  run((scheduler, { cold, flush }) => {
    const store = flakyStore(scheduler, () => false)
    stored = store.stored
    cold('|')
      .pipe(clickhouseSink('posts', store.write, { deadLetter, spool: new Spool<string>(dir, 1 << 20), scheduler }))
      .subscribe()
    flush()
  })
  return { deadLetter, stored }
}

describe('sink spool', () => {
  it('spools through an outage, keeps order, and drains when the store is back', () => {
    const spool = freshSpool()
    const deadLetter = new MemoryDeadLetter()
    const emitted: string[][] = []
    let completed = false
    let store: ReturnType<typeof flakyStore>
    run((scheduler, { cold, flush }) => {
      store = flakyStore(scheduler, (now) => now < 5_000)
      cold('a 999ms b 999ms c 5999ms d |')
        .pipe(clickhouseSink('posts', store.write, { deadLetter, spool, scheduler }))
        .subscribe({ next: (b) => emitted.push(b), complete: () => (completed = true) })
      flush()
    })
    expect(completed).toBe(true)
    // Accepted (spooled) while the store was down, so the stream went on.
    expect(emitted).toEqual([['a'], ['b'], ['c'], ['d']])
    expect(store!.stored).toEqual(['a', 'b', 'c', 'd'])
    expect(spool.pending()).toBe(0)
    expect(readdirSync(spool.dir)).toEqual([])
    expect(deadLetter.records).toEqual([])
  })

  it('drains a spool left by a crash before writing anything new, without emitting it again', () => {
    const spool = freshSpool()
    spool.append(['x1', 'x2'])
    spool.append(['y'])
    const reopened = new Spool<string>(spool.dir, 1 << 20)
    expect(reopened.pending()).toBe(2)
    const emitted: string[][] = []
    let store: ReturnType<typeof flakyStore>
    run((scheduler, { cold, flush }) => {
      store = flakyStore(scheduler, () => false)
      cold('a |')
        .pipe(clickhouseSink('posts', store.write, { deadLetter: new MemoryDeadLetter(), spool: reopened, scheduler }))
        .subscribe((b) => emitted.push(b))
      flush()
    })
    expect(store!.stored).toEqual(['x1', 'x2', 'y', 'a'])
    expect(emitted).toEqual([['a']])
    expect(reopened.pending()).toBe(0)
  })

  it('completes while the store is still down, leaving the spool for the next start', () => {
    const spool = freshSpool()
    let completed = false
    run((scheduler, { cold, flush }) => {
      const store = flakyStore(scheduler, () => true)
      cold('a 999ms b |')
        .pipe(clickhouseSink('posts', store.write, { deadLetter: new MemoryDeadLetter(), spool, scheduler }))
        .subscribe({ complete: () => (completed = true) })
      flush()
    })
    expect(completed).toBe(true)
    expect(spool.pending()).toBe(2)
    expect(new Spool<string>(spool.dir, 1 << 20).oldest(1).map((s) => s.items)).toEqual([['a']])
  })

  it('dead-letters a batch that would pass the spool bound, saying so', () => {
    const spool = freshSpool(8)
    const deadLetter = new MemoryDeadLetter()
    run((scheduler, { cold, flush }) => {
      const store = flakyStore(scheduler, () => true)
      cold('a |', { a: 'a long item that does not fit' })
        .pipe(clickhouseSink('posts', store.write, { deadLetter, spool, scheduler }))
        .subscribe()
      flush()
    })
    expect(deadLetter.records).toEqual([
      {
        stage: 'store:posts',
        reason: expect.stringMatching(/unreachable .*ECONNREFUSED.* spool is full \(8 bytes\)/),
        payload: 'a long item that does not fit',
      },
    ])
    expect(spool.pending()).toBe(0)
  })

  it('dead-letters a damaged line of a spooled batch and stores the rest', () => {
    const spool = freshSpool()
    writeFileSync(join(spool.dir, '000000000001.ndjson'), '"ok"\n{not json\n"also ok"\n')
    const { deadLetter, stored } = drainAtStart(spool.dir)
    expect(stored).toEqual(['ok', 'also ok'])
    expect(deadLetter.records).toEqual([
      { stage: 'store:posts', reason: expect.stringContaining('spool batch 1 line 2'), payload: '{not json' },
    ])
  })

  it('keeps at most a few batches in memory when the store is slow, the rest on disk, in order', () => {
    const spool = freshSpool()
    let appended = 0
    const append = spool.append.bind(spool)
    spool.append = (items, seq) => {
      appended++
      return append(items, seq)
    }
    const stored: string[] = []
    const emitted: string[] = []
    const items = Array.from({ length: 24 }, (_, i) => `p${i}`)
    run((scheduler, { cold, flush }) => {
      // Every write takes 2 s; a batch closes every 500 ms.
      const write = (batch: string[]) => timer(2_000, scheduler).pipe(map(() => stored.push(...batch)))
      // One marble character per item (a, b, ...), 500 ms apart.
      const keys = items.map((_, i) => String.fromCharCode(97 + i))
      cold(`${keys.join(' 499ms ')} |`, Object.fromEntries(keys.map((k, i) => [k, items[i]!])))
        .pipe(clickhouseSink('posts', write, { deadLetter: new MemoryDeadLetter(), spool, scheduler }))
        .subscribe((b) => emitted.push(...b))
      flush()
    })
    expect(appended).toBeGreaterThan(5)
    expect(stored).toEqual(items)
    expect(emitted.sort()).toEqual([...items].sort())
    expect(spool.pending()).toBe(0)
  })

  it('refuses a batch the spool cannot write, saying why, and goes on', () => {
    const spool = freshSpool()
    // The spool's folder turns into a file: every write to it fails.
    rmSync(spool.dir, { recursive: true })
    writeFileSync(spool.dir, '')
    const deadLetter = new MemoryDeadLetter()
    const emitted: string[][] = []
    run((scheduler, { cold, flush }) => {
      const store = flakyStore(scheduler, (now) => now < 2_000)
      cold('a 2999ms b |')
        .pipe(clickhouseSink('posts', store.write, { deadLetter, spool, scheduler }))
        .subscribe((b) => emitted.push(b))
      flush()
    })
    expect(deadLetter.records).toEqual([
      { stage: 'store:posts', reason: expect.stringContaining('the spool cannot be written'), payload: 'a' },
    ])
    expect(emitted).toEqual([['b']])
    rmSync(spool.dir)
  })

  it('takes back, corrected, an item it refused before', () => {
    const deadLetter = new MemoryDeadLetter()
    const emitted: string[][] = []
    run((scheduler, { cold, flush }) => {
      const store = flakyStore(scheduler, (now) => now < 2_000)
      cold('a 2999ms a |')
        .pipe(clickhouseSink('posts', store.write, { deadLetter, key: (s) => s, scheduler }))
        .subscribe((b) => emitted.push(b))
      flush()
    })
    expect(deadLetter.records).toHaveLength(1)
    expect(emitted).toEqual([['a']])
  })

  it('spools only what a split batch left unwritten when the store goes away mid-split', () => {
    const spool = freshSpool()
    const deadLetter = new MemoryDeadLetter()
    const emitted: string[][] = []
    const stored: string[] = []
    const badData = Object.assign(new Error('Code: 27. DB::Exception: Cannot parse input'), { clickhouseCode: 27 })
    run((scheduler, { cold, flush }) => {
      // The batch has a bad row; while it is being split the store goes down for good.
      const write = (batch: string[]) => {
        if (batch.includes('bad')) return throwError(() => badData)
        if (batch.includes('d')) return throwError(() => new Error('connect ECONNREFUSED'))
        stored.push(...batch)
        return of(batch)
      }
      cold('(abcd) |', { a: 'a', b: 'bad', c: 'c', d: 'd' })
        .pipe(clickhouseSink('posts', write, { deadLetter, spool, scheduler }))
        .subscribe((b) => emitted.push(b))
      flush()
    })
    expect(stored).toEqual(['a'])
    expect(deadLetter.records.map((r) => r.payload)).toEqual(['bad'])
    expect(emitted.flat().sort()).toEqual(['a', 'c', 'd'])
    expect(spool.oldest(100).flatMap((s) => s.items)).toEqual(['c', 'd'])
  })

  it('keeps a batch in memory when the spool will not take it, and loses nothing', () => {
    const spool = freshSpool(1)
    const stored: string[] = []
    const duplicates: string[] = []
    const items = Array.from({ length: 12 }, (_, i) => `p${i}`)
    run((scheduler, { cold, flush }) => {
      const write = (batch: string[]) => timer(2_000, scheduler).pipe(map(() => stored.push(...batch)))
      const keys = items.map((_, i) => String.fromCharCode(97 + i))
      cold(`${keys.join(' 499ms ')} |`, Object.fromEntries(keys.map((k, i) => [k, items[i]!])))
        .pipe(
          clickhouseSink('posts', write, {
            deadLetter: new MemoryDeadLetter(),
            spool,
            key: (s) => s,
            onDuplicate: (s) => duplicates.push(s),
            scheduler,
          }),
        )
        .subscribe()
      flush()
    })
    expect(stored).toEqual(items)
    expect(duplicates).toEqual([])
  })

  it('emits every batch of a source that emits all at once, spilled ones included', () => {
    const spool = freshSpool()
    const items = Array.from({ length: 6 * 5_000 }, (_, i) => `p${i}`)
    let emitted = 0
    let stored = 0
    run((scheduler, { flush }) => {
      const write = (batch: string[]) => timer(100, scheduler).pipe(map(() => (stored += batch.length)))
      from(items)
        .pipe(clickhouseSink('posts', write, { deadLetter: new MemoryDeadLetter(), spool, scheduler }))
        .subscribe((b) => (emitted += b.length))
      flush()
    })
    expect(emitted).toBe(items.length)
    expect(stored).toBe(items.length)
  })

  it('reports an unreadable or wholly damaged spool file once and drains the rest', () => {
    const spool = freshSpool()
    mkdirSync(join(spool.dir, '000000000001.ndjson'))
    writeFileSync(join(spool.dir, '000000000002.ndjson'), '{bad\n')
    writeFileSync(join(spool.dir, '000000000003.ndjson'), '"x"\n"z"\n')
    const { deadLetter, stored } = drainAtStart(spool.dir)
    expect(stored).toEqual(['x', 'z'])
    expect(deadLetter.records.map((r) => r.reason)).toEqual([
      expect.stringContaining('set aside as 000000000001.ndjson.unreadable'),
      expect.stringContaining('spool batch 2 line 1'),
    ])
    expect(readdirSync(spool.dir)).toEqual(['000000000001.ndjson.unreadable'])
  })

  it('stops draining a while after the input ends, leaving the rest for the next start', () => {
    const spool = freshSpool()
    // Ten full batches: a drain writes one at a time.
    for (let i = 0; i < 10; i++) spool.append(Array.from({ length: 5_000 }, (_, j) => `old${i}-${j}`))
    let completedAt = -1
    run((scheduler, { cold, flush }) => {
      // A slow store: 5 s a write, 10 batches waiting, 12 s allowed after the input ends.
      const write = (batch: string[]) => timer(5_000, scheduler).pipe(map(() => batch))
      cold('a |')
        .pipe(
          clickhouseSink('posts', write, {
            deadLetter: new MemoryDeadLetter(),
            spool: new Spool<string>(spool.dir, 1 << 20),
            drainAfterInputMs: 12_000,
            scheduler,
          }),
        )
        .subscribe({ complete: () => (completedAt = scheduler.now()) })
      flush()
    })
    expect(completedAt).toBeGreaterThan(0)
    expect(completedAt).toBeLessThan(25_000)
    expect(new Spool<string>(spool.dir, 1 << 20).pending()).toBeGreaterThan(0)
  })

  it('drops an item it accepted lately instead of storing or counting it twice', () => {
    const duplicates: string[] = []
    const emitted: string[][] = []
    run((scheduler, { cold, flush }) => {
      const store = flakyStore(scheduler, () => false)
      cold('a b 600ms a c |')
        .pipe(
          clickhouseSink('posts', store.write, {
            deadLetter: new MemoryDeadLetter(),
            key: (s) => s,
            onDuplicate: (s) => duplicates.push(s),
            scheduler,
          }),
        )
        .subscribe((b) => emitted.push(b))
      flush()
    })
    expect(emitted).toEqual([['a', 'b'], ['c']])
    expect(duplicates).toEqual(['a'])
  })
})

describe('spool files on a disk that fails', () => {
  /** A disk that writes at most `chunk` bytes a call, and refuses every write while `full`. */
  const disk = (chunk: number) => {
    const state = { full: false }
    const write = (fd: number, buffer: Buffer, offset: number, length: number) => {
      if (state.full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
      return writeSync(fd, buffer, offset, Math.min(chunk, length))
    }
    return { state, write }
  }

  it('writes all of a batch however little each write takes', () => {
    const { write } = disk(3)
    const spool = new Spool<string>(join(dir.path, `short-${++n}`), 1 << 20, write)
    expect(spool.append(['héllo', 'world', 'x'.repeat(1_000)]).ok).toBe(true)
    expect(new Spool<string>(spool.dir, 1 << 20).oldest(10).flatMap((s) => s.items)).toEqual([
      'héllo',
      'world',
      'x'.repeat(1_000),
    ])
  })

  it('says so when a write makes no progress, instead of leaving part of a file', () => {
    const path = join(dir.path, `stuck-${++n}.json`)
    expect(() => replaceDurably(path, 'cursor', () => 0)).toThrow(/short write: 0 of 6 bytes/)
    expect(readdirSync(dir.path).filter((f) => f.startsWith(`stuck-${n}`))).toEqual([])
  })

  it('keeps a cursor whole on a disk that takes a byte at a time', () => {
    const path = join(dir.path, `cursor-${++n}.json`)
    const buffer = Buffer.from(JSON.stringify({ timeUs: 1_700_000_000_000_000, firstUs: 1 }))
    const fd = openSync(path, 'w')
    writeAll(fd, buffer, (f, b, o) => writeSync(f, b, o, 1))
    closeSync(fd)
    expect(readFileSync(path, 'utf8')).toBe(buffer.toString())
    const cursors = new CursorFile<{ timeUs: number }>(path)
    cursors.save({ timeUs: 2 })
    expect(cursors.load((v): v is { timeUs: number } => typeof v === 'object' && v !== null)).toEqual({ timeUs: 2 })
  })

  it('loses nothing when a drain fails part way and the disk is full: each file keeps what is not stored', () => {
    const { state, write } = disk(1 << 20)
    const folder = join(dir.path, `drain-${++n}`)
    const spool = new Spool<string>(folder, 1 << 20, write)
    for (const batch of [
      ['a', 'b'],
      ['bad', 'c'],
      ['d', 'e'],
    ])
      spool.append(batch)
    const badData = Object.assign(new Error('Code: 27. DB::Exception: Cannot parse input'), { clickhouseCode: 27 })
    const stored: string[] = []
    const deadLetter = new MemoryDeadLetter()
    run((scheduler, { cold, flush }) => {
      // The one drain: the bad row splits the write, a half is stored, then the store goes away, and
      // so does the disk's room for rewriting what is left of each file.
      const write = (batch: string[]) => {
        if (batch.includes('bad')) return throwError(() => badData)
        if (batch.includes('c')) {
          state.full = true
          return throwError(() => new Error('connect ECONNREFUSED 127.0.0.1:8123'))
        }
        stored.push(...batch)
        return of(batch)
      }
      cold('|')
        .pipe(clickhouseSink('posts', write, { deadLetter, spool, scheduler }))
        .subscribe()
      flush()
    })
    expect(stored).toEqual(['a', 'b'])
    expect(deadLetter.records.map((r) => r.payload)).toEqual(['bad'])
    // What is neither stored nor refused is still on disk (a file the disk would not rewrite keeps all it held).
    const left = new Spool<string>(folder, 1 << 20).oldest(100).flatMap((s) => s.items)
    expect(left).toEqual(expect.arrayContaining(['c', 'd', 'e']))
    expect(left).not.toContain('a')
    // With room again, the next start stores the rest.
    state.full = false
    const next = drainAtStart(folder)
    expect(next.stored).toEqual(expect.arrayContaining(['c', 'd', 'e']))
    expect(new Spool<string>(folder, 1 << 20).pending()).toBe(0)
  })
})

describe('spool files and the dead-letter record', () => {
  /** A dead-letter record whose writes reach the disk only when the test says so. */
  const slowRecord = () => {
    const records: unknown[] = []
    let release = () => {}
    const onDisk = new Promise<void>((r) => (release = r))
    return {
      records,
      release,
      deadLetter: {
        record: (_s: string, _r: string, payload: unknown) => void records.push(payload),
        counts: () => ({}),
        flush: () => onDisk,
      },
    }
  }
  const badData = Object.assign(new Error('Code: 27. DB::Exception: Cannot parse input'), { clickhouseCode: 27 })

  it('removes a drained file only once the records of what the store refused are on disk', async () => {
    const folder = join(dir.path, `refused-${++n}`)
    new Spool<string>(folder, 1 << 20).append(['bad', 'ok'])
    const record = slowRecord()
    const stored: string[] = []
    const write = (batch: string[]) => (batch.includes('bad') ? throwError(() => badData) : of(stored.push(...batch)))
    const done = new Promise<void>((complete) =>
      of<string>()
        .pipe(
          clickhouseSink('posts', write, { deadLetter: record.deadLetter, spool: new Spool<string>(folder, 1 << 20) }),
        )
        .subscribe({ complete }),
    )
    await new Promise((r) => setTimeout(r, 50))
    expect(stored).toEqual(['ok'])
    expect(record.records).toEqual(['bad'])
    // A crash now must find 'bad' again at the next start: its record is not on disk yet.
    expect(readdirSync(folder)).toEqual(['000000000001.ndjson'])
    record.release()
    await done
    expect(readdirSync(folder)).toEqual([])
  })

  it('rewrites a file without its damaged lines only once their records are on disk', async () => {
    const folder = join(dir.path, `damaged-${++n}`)
    mkdirSync(folder, { recursive: true })
    writeFileSync(join(folder, '000000000001.ndjson'), '{bad\n"ok"\n')
    const record = slowRecord()
    const stored: string[] = []
    const done = new Promise<void>((complete) =>
      of<string>()
        .pipe(
          clickhouseSink('posts', (batch: string[]) => of(stored.push(...batch)), {
            deadLetter: record.deadLetter,
            spool: new Spool<string>(folder, 1 << 20),
          }),
        )
        .subscribe({ complete }),
    )
    await new Promise((r) => setTimeout(r, 50))
    expect(record.records).toEqual(['{bad'])
    expect(readFileSync(join(folder, '000000000001.ndjson'), 'utf8')).toBe('{bad\n"ok"\n')
    record.release()
    await done
    expect(stored).toEqual(['ok'])
  })
})
