// The classifier's thread (models/worker.ts): the model is loaded here and every batch is scored
// here, so that ONNX Runtime, which runs a batch synchronously, blocks this thread and not the
// one serving the API, the store and the walls.
import { parentPort, workerData } from 'node:worker_threads'
import { loadModel } from './load.ts'

const { model, options } = workerData as { model: string; options: { threads?: number } }
const port = parentPort!
try {
  const classifier = await loadModel(model, options)
  port.on('message', (message: { id: number; texts: string[] }) => {
    classifier.classify(message.texts).then(
      (results) => port.postMessage({ id: message.id, results }),
      (error: unknown) => port.postMessage({ id: message.id, error: String(error) }),
    )
  })
  port.postMessage({ ready: classifier.name })
} catch (error) {
  port.postMessage({ failed: (error as Error).message })
}
