// A real app on a real embedded store, for server tests.
import { EmbeddedStore } from '../../pipelines/store/embedded.ts'
import { LiveView } from '../../pipelines/sinks/live-memory.ts'
import { buildServer, type ServerOptions } from '../../server/app.ts'
import { tracking } from './fixtures.ts'
import { tmpDir } from './tmp.ts'

/** `alerts`: what acknowledges alerts (a pipeline's acknowledge; see stack.ts). */
export async function testApp(
  options: Pick<
    ServerOptions,
    'clientRoot' | 'alerts' | 'corsOrigins' | 'access' | 'rateLimits' | 'trustProxy' | 'allowedHosts'
  > = {},
) {
  const dir = tmpDir('server')
  const store = new EmbeddedStore(dir.path)
  await store.migrate()
  const view = new LiveView()
  const app = await buildServer({
    store,
    view,
    tracking,
    health: { classifier: 'vader-lexicon', sources: ['simulator'], stats: () => ({ received: 0 }) },
    ...options,
  })
  return {
    app,
    store,
    view,
    async close() {
      if (app.server.listening) await app.close()
      await store.close()
      dir.remove()
    },
  }
}
