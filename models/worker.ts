// A transformers.js classifier on a thread of its own (models/classify-worker.ts). ONNX Runtime
// runs a batch synchronously on the thread that asks: in the server's own thread, every batch
// would stop the API, the store writes and the walls' pushes for its duration (tens of
// milliseconds at load) and leave the second core idle. Here the main thread only passes texts
// and results.
import { Worker } from 'node:worker_threads'
import type { Classifier, ModelSentiment } from './classifier.ts'
import type { LoadOptions } from './transformers.ts'

export class WorkerClassifier implements Classifier {
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (r: ModelSentiment[]) => void; reject: (e: Error) => void }>()
  private failure: Error | undefined

  private constructor(
    readonly name: string,
    private readonly worker: Worker,
  ) {
    worker.on('message', (message: { id: number; results?: ModelSentiment[]; error?: string }) => {
      const waiting = this.pending.get(message.id)
      if (!waiting) return
      this.pending.delete(message.id)
      if (this.pending.size === 0) worker.unref()
      if (message.error !== undefined) waiting.reject(new Error(message.error))
      else waiting.resolve(message.results!)
    })
    // A thread that dies fails what it was asked, and every batch after (dead-lettered with why).
    const fail = (error: Error) => {
      this.failure = error
      for (const waiting of this.pending.values()) waiting.reject(error)
      this.pending.clear()
    }
    worker.on('error', fail)
    worker.on('exit', (code) => fail(new Error(`the classifier's thread exited (${code})`)))
  }

  static async load(model: string, options: LoadOptions = {}): Promise<WorkerClassifier> {
    const worker = new Worker(new URL('./classify-worker.mjs', import.meta.url), { workerData: { model, options } })
    const name = await new Promise<string>((resolve, reject) => {
      worker.once('message', (m: { ready?: string; failed?: string }) => (m.ready ? resolve(m.ready) : reject(new Error(m.failed))))
      worker.once('error', reject)
    }).catch(async (error: unknown) => {
      await worker.terminate()
      throw error
    })
    // Idle, the thread does not keep the process alive; it is held while a batch is out.
    worker.unref()
    return new WorkerClassifier(name, worker)
  }

  classify(texts: readonly string[]): Promise<ModelSentiment[]> {
    if (texts.length === 0) return Promise.resolve([])
    if (this.failure) return Promise.reject(this.failure)
    const id = this.nextId++
    if (this.pending.size === 0) this.worker.ref()
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.worker.postMessage({ id, texts: [...texts] })
    })
  }

  /** Stops the thread (tests; a process that exits takes it along). */
  async close(): Promise<void> {
    await this.worker.terminate()
  }
}
