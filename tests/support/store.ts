// An embedded store of its own for a test file (libchdb binds one data folder per process, and
// vitest runs each file in its own process): migrated before the tests, removed after them.
import { afterAll, beforeAll } from 'vitest'
import { EmbeddedStore } from '../../pipelines/store/embedded.ts'
import { tmpDir } from './tmp.ts'

export function useEmbeddedStore(name: string): EmbeddedStore {
  const dir = tmpDir(name)
  const store = new EmbeddedStore(dir.path)
  beforeAll(() => store.migrate())
  afterAll(async () => {
    await store.close()
    dir.remove()
  })
  return store
}
