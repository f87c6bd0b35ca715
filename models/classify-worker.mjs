// The classifier thread's entry (models/worker.ts). A worker thread does not inherit tsx's loader
// from the main thread: it is registered here, then the TypeScript module is loaded.
import { register } from 'tsx/esm/api'

register()
await import('./classify-worker.ts')
