// Embedded mode's API reads taking turns for their chdb connection, fairly: each reader (an API
// client by its key, server/access.ts callerKey) may have a few reads waiting or running, turns go
// round the readers that wait, and the wall's snapshot goes ahead of them all, so that one client
// asking heavy reads back to back cannot fill the queue for everyone else. Writes never pass here.
import { QueryLimitError } from './limits.ts'

/** Whom a read is for: an API client's key, WALL_READER, or none (the process's own: start-up, tools). */
export type Reader = string | undefined

/** The wall's snapshot on connect: ahead of every API read (a wall without history looks broken). */
export const WALL_READER = 'wall'

/** Slots: reads at once on the read connection (one thread each; measured in docs/storage.md). */
export const READ_SLOTS = 2

/** Reads one client may have waiting or running; past it the next is refused (429). */
export const MAX_READS_PER_CLIENT = 4

/** Reads waiting past which the next is refused at once (503), and the longest one waits. */
export const MAX_WAITING_READS = 64
export const MAX_READ_WAIT_MS = 10_000

interface Waiting {
  start: () => void
  timer: NodeJS.Timeout
}

/** One reader's reads: those waiting, those running, and when one last started. */
interface Turn {
  waiting: Waiting[]
  running: number
  startedAt: number
}

export class ReadGate {
  private running = 0
  private waitingCount = 0
  private starts = 0
  private readonly wall: Waiting[] = []
  /** The readers with reads waiting or running. */
  private readonly readers = new Map<string, Turn>()

  constructor(
    readonly slots = READ_SLOTS,
    private readonly maxWaiting = MAX_WAITING_READS,
    private readonly maxWaitMs = MAX_READ_WAIT_MS,
    private readonly perClient = MAX_READS_PER_CLIENT,
  ) {}

  get queued(): number {
    return this.waitingCount
  }

  async read<T>(job: () => Promise<T>, reader?: Reader): Promise<T> {
    const turn = reader === WALL_READER ? undefined : this.turnOf(reader ?? '')
    if (turn && reader && turn.waiting.length + turn.running >= this.perClient) {
      throw new QueryLimitError(
        `too many reads at once from this client: ${turn.waiting.length + turn.running} wait or run already, the most one client may have; wait for their answers`,
        'client',
      )
    }
    if (this.running < this.slots) this.start(turn)
    else await this.wait(turn)
    try {
      return await job()
    } finally {
      if (turn) turn.running--
      this.release()
      if (turn && turn.running === 0 && turn.waiting.length === 0) this.readers.delete(reader ?? '')
    }
  }

  private turnOf(key: string): Turn {
    let turn = this.readers.get(key)
    if (!turn) this.readers.set(key, (turn = { waiting: [], running: 0, startedAt: 0 }))
    return turn
  }

  private start(turn: Turn | undefined): void {
    this.running++
    if (!turn) return
    turn.running++
    turn.startedAt = ++this.starts
  }

  private wait(turn: Turn | undefined): Promise<void> {
    const queue = turn?.waiting ?? this.wall
    // The wall's reads are bounded by the handshakes' own limit, and never refused for API reads.
    if (turn && this.waitingCount >= this.maxWaiting) {
      this.dropIfIdle(turn)
      return Promise.reject(
        new QueryLimitError(
          `the store is busy: ${this.waitingCount} reads wait already; try again in a moment`,
          'busy',
        ),
      )
    }
    return new Promise((start, fail) => {
      const entry: Waiting = {
        start,
        timer: setTimeout(() => {
          queue.splice(queue.indexOf(entry), 1)
          this.waitingCount--
          if (turn) this.dropIfIdle(turn)
          fail(
            new QueryLimitError(
              `the store is busy: the read waited ${this.maxWaitMs / 1000} s for its turn; try again in a moment`,
              'busy',
            ),
          )
        }, this.maxWaitMs),
      }
      queue.push(entry)
      this.waitingCount++
    })
  }

  private dropIfIdle(turn: Turn): void {
    if (turn.running > 0 || turn.waiting.length > 0) return
    for (const [key, t] of this.readers) if (t === turn) this.readers.delete(key)
  }

  /** A slot is free: to the wall's next read, else to the waiting reader whose last read started longest ago. */
  private release(): void {
    this.running--
    let next = this.wall.shift()
    let turn: Turn | undefined
    if (!next) {
      for (const t of this.readers.values())
        if (t.waiting.length > 0 && (!turn || t.startedAt < turn.startedAt)) turn = t
      next = turn?.waiting.shift()
    }
    if (!next) return
    this.waitingCount--
    clearTimeout(next.timer)
    this.start(turn)
    next.start()
  }
}
