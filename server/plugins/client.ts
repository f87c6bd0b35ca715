// Serves the built wall (client/dist). `npm start` builds it first; if it is missing the API still
// runs and / says how to build it.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import fp from 'fastify-plugin'
import { ERROR_CODES, errorBody } from '../errors.ts'

export const CLIENT_DIST = fileURLToPath(new URL('../../client/dist/', import.meta.url))

export const clientPlugin = fp<{ root?: string }>(
  async (app, { root = CLIENT_DIST }) => {
    if (!existsSync(root)) {
      app.get('/', async (_request, reply) =>
        reply
          .status(503)
          .send(
            errorBody(
              ERROR_CODES.UNAVAILABLE,
              'The wall is not built: run `npm run build:client` (npm start does it).',
            ),
          ),
      )
      return
    }
    await app.register(fastifyStatic, { root, wildcard: false })
  },
  { name: 'client' },
)
