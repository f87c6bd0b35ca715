// Addresses as shown in logs, /readyz and messages: credentials out, the server still named.
import { describe, expect, it } from 'vitest'
import { redactAddress, redactUrl } from '../../pipelines/redact.ts'

describe('redactUrl', () => {
  it('hides passwords and tokens in URLs, keeping the user and the server', () => {
    expect(redactUrl('redis://:s3cret@redis:6379')).toBe('redis://:***@redis:6379')
    expect(redactUrl('rediss://default:s3cret@redis.example:6380/0')).toBe('rediss://default:***@redis.example:6380/0')
    // NATS takes a token as the whole user-info.
    expect(redactUrl('nats://s3cret-token@nats:4222')).toBe('nats://***@nats:4222')
    expect(redactUrl('http://undertow:p%40ss@clickhouse:8123')).toBe('http://undertow:***@clickhouse:8123')
    expect(redactUrl('http://clickhouse:8123/?user=u&password=s3cret&x=1')).toBe(
      'http://clickhouse:8123/?user=u&password=***&x=1',
    )
  })

  it('redacts each URL of a list, and URLs inside a message', () => {
    expect(redactUrl('nats://a:1@n1:4222,nats://n2:4222,nats://t0k@n3:4222')).toBe(
      'nats://a:***@n1:4222,nats://n2:4222,nats://***@n3:4222',
    )
    expect(redactUrl('cannot reach Redis at redis://:s3cret@127.0.0.1:6379: connect ECONNREFUSED 127.0.0.1:6379')).toBe(
      'cannot reach Redis at redis://:***@127.0.0.1:6379: connect ECONNREFUSED 127.0.0.1:6379',
    )
  })

  it('ends the credentials at the last @, as URL parsers do: a password may hold @ / # ? :', () => {
    // node-redis reads the password of the first as p@ss.
    expect(redactUrl('redis://:p@ss@redis:6379')).toBe('redis://:***@redis:6379')
    expect(redactUrl('redis://default:pa/ss#1@redis')).toBe('redis://default:***@redis')
    for (const secret of ['a@b', 'a/b', 'a#b', 'a?b', 'a:b', 'p@ss/w#rd?x:y@z', '@/#?:']) {
      for (const [url, shown] of [
        [`redis://default:${secret}@redis:6379/0`, 'redis://default:***@redis:6379/0'],
        [`rediss://:${secret}@redis.example:6380`, 'rediss://:***@redis.example:6380'],
        [`nats://undertow:${secret}@nats:4222`, 'nats://undertow:***@nats:4222'],
        [`http://undertow:${secret}@clickhouse:8123`, 'http://undertow:***@clickhouse:8123'],
      ]) {
        expect(redactUrl(url!), url).toBe(shown)
        expect(redactUrl(`cannot reach it at ${url}: connect ECONNREFUSED`), url).toBe(
          `cannot reach it at ${shown}: connect ECONNREFUSED`,
        )
        expect(redactUrl(`{"url":"${url}"}`), url).toBe(`{"url":"${shown}"}`)
      }
    }
    // NATS takes a token as the whole user-info.
    expect(redactUrl('nats://to/k#e?n@x@nats:4222')).toBe('nats://***@nats:4222')
    // A comma inside a password is not a list's.
    expect(redactUrl('redis://:pa,ss@redis')).toBe('redis://:***@redis')
    expect(redactUrl('bad address (nats://t0k@n1:4222,nats://u:p@ss@n2:4222).')).toBe(
      'bad address (nats://***@n1:4222,nats://u:***@n2:4222).',
    )
  })

  it('leaves what holds no credentials as it is, an @ in a path included', () => {
    for (const s of [
      'nats://nats:4222',
      'http://clickhouse:8123',
      'https://mastodon.social/@alice/1',
      'see https://bsky.app/profile/a.example/post/1?ref=x@y',
      'ws://127.0.0.1:3000/users/bob@example.com',
      'embedded at /data/clickhouse',
      'mail me@example.com',
      'redis://redis:6379 (admin@example.com)',
    ])
      expect(redactUrl(s)).toBe(s)
  })
})

describe('redactAddress', () => {
  it('hides what comes before the @ of a value that is not a well-formed URL', () => {
    expect(redactAddress('redis//:s3cret@redis:6379')).toBe('***@redis:6379')
    expect(redactAddress('redis://:s3cret@redis:6379')).toBe('redis://:***@redis:6379')
    expect(redactAddress('nats://nats:4222')).toBe('nats://nats:4222')
  })
})
