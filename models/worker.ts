// A transformers.js classifier on a thread of its own (models/classify-worker.ts). ONNX Runtime
// runs a batch synchronously on the thread that asks: in the server's own thread, every batch
// would stop the API, the store writes and the walls' pushes for its duration (tens of
// milliseconds at load) and leave the second core idle. Here the main thread only passes texts
// and results.
//
// A thread that dies (out of memory, a fault in ONNX Runtime) fails the batches it held, which are
// dead-lettered with why, and is started again with backoff; batches asked meanwhile wait for it
// (posts queue in front of the classifier, and past the bound wait on disk). `ready` says whether
// a thread is there now, for /readyz.
import { Worker } from 'node:worker_threads'
import type { Classifier, ModelSentiment, Reading, Text } from './classifier.ts'
import type { ReadLanguages } from './language.ts'
import type { LoadOptions } from './transformers.ts'

const ENTRY = new URL('./classify-worker.mjs', import.meta.url)
export const RESTART_BACKOFF = { initialMs: 1_000, maxMs: 30_000 }

type Pending = { resolve: (r: never) => void; reject: (e: Error) => void }

/** Starts a thread and waits for its model; rejects with the model's error, or the thread's. */
function spawn(model: string, options: LoadOptions): Promise<{ worker: Worker; name: string }> {
  const worker = new Worker(ENTRY, { workerData: { model, options } })
  return new Promise((resolve, reject) => {
    const failed = (error: Error) => {
      worker.off('exit', exited)
      void worker.terminate()
      reject(error)
    }
    const exited = (code: number) =>
      reject(new Error(`the classifier's thread exited (${code}) before its model was loaded`))
    worker.once('message', (m: { ready?: string; failed?: string }) => {
      worker.off('exit', exited)
      worker.off('error', failed)
      if (m.ready) resolve({ worker, name: m.ready })
      else failed(new Error(m.failed))
    })
    worker.once('error', failed)
    worker.once('exit', exited)
  })
}

export class WorkerClassifier implements Classifier {
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private worker: Worker | undefined
  /** While a thread is being started again: what batches wait for. */
  private restarting: Promise<void> | undefined
  private closed = false
  /** Restarts since the last thread that scored a batch. */
  private failures = 0
  languages: ReadLanguages | undefined

  private constructor(
    readonly name: string,
    private readonly model: string,
    private readonly options: LoadOptions,
    worker: Worker,
  ) {
    this.adopt(worker)
  }

  static async load(model: string, options: LoadOptions = {}): Promise<WorkerClassifier> {
    const { worker, name } = await spawn(model, options)
    return new WorkerClassifier(name, model, options, worker)
  }

  /** Whether a thread is there to score batches now. */
  get ready(): boolean {
    return this.worker !== undefined
  }

  async classify(texts: readonly string[]): Promise<ModelSentiment[]> {
    return texts.length === 0 ? [] : this.ask<ModelSentiment[]>({ texts: [...texts] })
  }

  /** Languages are told on the thread too: identifying them costs as much as a third of scoring. */
  async read(texts: readonly Text[]): Promise<Reading[]> {
    return texts.length === 0 ? [] : this.ask<Reading[]>({ read: [...texts], languages: this.languages?.spec ?? 'en' })
  }

  private async ask<R>(message: object): Promise<R> {
    if (!this.worker) await this.restarting
    const worker = this.worker
    if (!worker) throw new Error(this.closed ? 'the classifier is closed' : "the classifier's thread is not running")
    const id = this.nextId++
    if (this.pending.size === 0) worker.ref()
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: never) => void, reject })
      worker.postMessage({ id, ...message })
    })
  }

  /** Stops the thread for good (tests; a process that exits takes it along). */
  async close(): Promise<void> {
    this.closed = true
    const worker = this.worker
    this.worker = undefined
    await worker?.terminate()
  }

  private adopt(worker: Worker): void {
    this.worker = worker
    // Idle, the thread does not keep the process alive; it is held while a batch is out.
    worker.unref()
    worker.on('message', (message: { id: number; results?: unknown; error?: string }) => {
      const waiting = this.pending.get(message.id)
      if (!waiting) return
      this.pending.delete(message.id)
      if (this.pending.size === 0) worker.unref()
      if (message.error !== undefined) return waiting.reject(new Error(message.error))
      this.failures = 0
      waiting.resolve(message.results as never)
    })
    let cause: Error | undefined
    worker.on('error', (error) => (cause ??= error))
    worker.on('exit', (code) => {
      if (this.worker !== worker) return
      this.worker = undefined
      const error = new Error(`the classifier's thread stopped: ${cause?.message ?? `exit code ${code}`}`)
      for (const waiting of this.pending.values()) waiting.reject(error)
      this.pending.clear()
      if (!this.closed) this.restart()
    })
  }

  private restart(): void {
    const delay = Math.min(RESTART_BACKOFF.maxMs, RESTART_BACKOFF.initialMs * 2 ** this.failures++)
    this.restarting = new Promise<void>((resolve) => {
      const attempt = () => {
        if (this.closed) return resolve()
        spawn(this.model, this.options).then(
          ({ worker }) => {
            if (this.closed) return void worker.terminate().then(() => resolve())
            this.adopt(worker)
            resolve()
          },
          () =>
            setTimeout(
              attempt,
              Math.min(RESTART_BACKOFF.maxMs, RESTART_BACKOFF.initialMs * 2 ** this.failures++),
            ).unref(),
        )
      }
      setTimeout(attempt, delay).unref()
    })
  }
}
