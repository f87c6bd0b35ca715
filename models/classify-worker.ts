// The classifier's thread (models/worker.ts): the model is loaded here and every batch is scored
// here, so that ONNX Runtime, which runs a batch synchronously, blocks this thread and not the
// one serving the API, the store and the walls.
import { parentPort, workerData } from 'node:worker_threads'
import { ReadLanguages } from './language.ts'
import type { Text } from './classifier.ts'
import { loadModel } from './load.ts'
import { readHere } from './read.ts'

const { model, options } = workerData as { model: string; options: { threads?: number } }
const port = parentPort!
try {
  const classifier = await loadModel(model, options)
  // `read`: texts whose languages are told here too (models/read.ts), with the main thread's languages.
  port.on('message', (message: { id: number; texts?: string[]; read?: Text[]; languages?: string }) => {
    if (message.languages !== undefined && message.languages !== classifier.languages?.spec)
      classifier.languages = new ReadLanguages(message.languages)
    const work: Promise<unknown> = message.read
      ? readHere(classifier, message.read)
      : classifier.classify(message.texts ?? [])
    work.then(
      (results) => port.postMessage({ id: message.id, results }),
      (error: unknown) => port.postMessage({ id: message.id, error: String(error) }),
    )
  })
  port.postMessage({ ready: classifier.name })
} catch (error) {
  port.postMessage({ failed: (error as Error).message })
}
