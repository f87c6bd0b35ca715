// socket.io on Fastify's own HTTP server, decorated as `app.io` and closed with the app. Each wall
// that connects (or reconnects) gets a snapshot first; the live sink broadcasts deltas after it.
import fp from 'fastify-plugin'
import { Server } from 'socket.io'
import type { ClientToServerEvents, ServerToClientEvents, Snapshot } from '../../pipelines/schema.ts'
import { EVENTS } from '../../pipelines/schema.ts'

export type Io = Server<ClientToServerEvents, ServerToClientEvents>

declare module 'fastify' {
  interface FastifyInstance {
    io: Io
  }
}

export const socketIoPlugin = fp<{ snapshot: () => Promise<Snapshot> }>(
  async (app, { snapshot }) => {
    const io: Io = new Server(app.server, { serveClient: false })
    io.on('connection', (socket) => {
      snapshot().then(
        (s) => socket.emit(EVENTS.snapshot, s),
        (error: unknown) => {
          app.log.error({ err: error }, 'snapshot failed')
          socket.disconnect(true)
        },
      )
    })
    app.decorate('io', io)
    app.addHook('onClose', async () => {
      await io.close()
    })
  },
  { name: 'socket.io' },
)
