// The Redis adapter's failures name the Redis meant (REDIS_URL) without its credentials, an
// address node-redis cannot read included (a password written with / # in it).
import { describe, expect, it } from 'vitest'
import { redisAdapter } from '../../server/cluster.ts'

describe('redisAdapter', () => {
  it('names an address it cannot read, without its password, and says why', async () => {
    const error = await redisAdapter('redis://default:pa/ss#1@127.0.0.1:1', () => {}).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toBe('cannot reach Redis at redis://default:***@127.0.0.1:1: Invalid URL (a password with / # ? in it must be percent-encoded)')
  })
})
