import { describe, expect, it } from 'vitest'
import { DEFAULT_ROUTES } from '../../pipelines/transforms/route.ts'
import { ConfigError, loadConfig, rolesOf, routingOf } from '../../server/config.ts'

const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error.message
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('configuration', () => {
  it('has the documented defaults and ignores variables that are not ours', () => {
    expect(loadConfig({ PATH: '/usr/bin', HOME: '/root' })).toEqual({
      PORT: 3000,
      HOST: '127.0.0.1',
      ALLOWED_HOSTS: '',
      DATA_DIR: './data',
      CLICKHOUSE_URL: '',
      CLICKHOUSE_USER: 'default',
      CLICKHOUSE_PASSWORD: '',
      CLICKHOUSE_DATABASE: 'undertow',
      INTAKE_SEGMENT_MS: 5_000,
      SPOOL_MAX_BYTES: 1_073_741_824,
      RETENTION_DAYS: 30,
      CORS_ORIGINS: '',
      AUTH_TOKENS: '',
      TRUST_PROXY: '',
      RATE_LIMIT_PER_MINUTE: 1_200,
      INGEST_RATE_LIMIT_PER_MINUTE: 6_000,
      BUS_URL: '',
      ROLES: 'all',
      REDIS_URL: '',
      BUS_ACK_WAIT_S: 30,
      SOURCES: 'simulator',
      INGEST_TOKEN: '',
      JETSTREAM_URL: '',
      JETSTREAM_VERSION: '1',
      JETSTREAM_OVERLAP_MS: 10_000,
      JETSTREAM_DIDS: '',
      MASTODON_URL: '',
      MASTODON_TOKEN: '',
      MASTODON_STREAM: 'public',
      HN_API_URL: 'https://hacker-news.firebaseio.com/v0',
      SOURCE_DOWN_GRACE_S: 30,
      SIM_SPEED: 10,
      SIM_SEED: 42,
      BRANDS_FILE: '',
      BRAND: 'Lumen',
      COMPETITORS: 'Corvid,Nimbus',
      REPLY_ALL_MENTIONS: false,
      REPLY_TARGET_MINUTES: 60,
      ROUTES:
        'question=support,complaint=support,support=support,suggestion=product,comparison=product,praise=marketing',
      SCORED_LANGUAGES: 'en',
      TEAM_WEBHOOKS: '',
      ALERT_WEBHOOK_URL: '',
      SENTIMENT_MODEL: '',
      SENTIMENT_THREADS: 1,
      LOG_LEVEL: 'info',
    })
    expect(routingOf(loadConfig({})).routes).toEqual(DEFAULT_ROUTES)
  })

  it('reads routes and team webhooks, and names every mistake in them', () => {
    const config = loadConfig({
      ROUTES: 'praise=marketing, comparison=product',
      TEAM_WEBHOOKS: 'product=https://hooks.example/p',
      REPLY_ALL_MENTIONS: 'true',
    })
    expect(routingOf(config)).toEqual({
      routes: { praise: 'marketing', comparison: 'product' },
      webhooks: new Map([['product', 'https://hooks.example/p']]),
      problems: [],
    })
    expect(config.REPLY_ALL_MENTIONS).toBe(true)
    const message = problems({
      ROUTES: 'praise=marketing,rant=support,question,complaint=Support Team',
      TEAM_WEBHOOKS: 'legal=https://x.example,marketing=ftp://x',
    })
    expect(message).toContain(
      'ROUTES: "rant" is not an intent (expected question, suggestion, complaint, praise, comparison, support)',
    )
    expect(message).toContain('ROUTES: "question" is not intent=team')
    expect(message).toContain('ROUTES: team "Support Team" must be lower-case letters, digits, - or _')
    expect(message).toContain('TEAM_WEBHOOKS: no intent is routed to team "legal" (teams: marketing)')
    // A webhook's URL is its secret: named by its team, never shown.
    expect(message).toContain('TEAM_WEBHOOKS: the URL for marketing is not an http(s) URL')
    expect(message).not.toContain('ftp://x')
    expect(problems({ ALERT_WEBHOOK_URL: 'hooks.slack.com/x' })).toContain('ALERT_WEBHOOK_URL=')
  })

  it('takes the languages the classifier reads as ISO 639-1 codes or *, and names what it cannot read', () => {
    expect(loadConfig({ SCORED_LANGUAGES: 'en, de' }).SCORED_LANGUAGES).toBe('en, de')
    expect(loadConfig({ SCORED_LANGUAGES: '*' }).SCORED_LANGUAGES).toBe('*')
    expect(problems({ SCORED_LANGUAGES: 'English' })).toContain('SCORED_LANGUAGES="English"')
    expect(problems({ SCORED_LANGUAGES: 'en;de' })).toContain('SCORED_LANGUAGES=')
    // eld names languages by ISO 639-1: a three-letter code would match no post.
    expect(problems({ SCORED_LANGUAGES: 'eng' })).toContain('SCORED_LANGUAGES="eng"')
  })

  it('takes roles only with a bus, a shared store, and Redis between live and web processes', () => {
    const bus = { BUS_URL: 'nats://nats:4222' }
    const server = { CLICKHOUSE_URL: 'http://clickhouse:8123' }
    expect(rolesOf(loadConfig({}))).toEqual(new Set(['ingest', 'worker', 'live', 'web']))
    expect(problems({ ROLES: 'worker' })).toContain('set BUS_URL')
    expect(problems({ ...bus, ROLES: 'worker' })).toContain('set CLICKHOUSE_URL')
    expect(problems({ ...bus, ...server, ROLES: 'web' })).toContain('set REDIS_URL')
    expect(problems({ ...bus, ...server, ROLES: 'worker,cook' })).toContain(
      'expected some of ingest, worker, live, web, or all',
    )
    expect(problems({ BUS_URL: 'http://nats:4222' })).toContain('BUS_URL=')
    expect(rolesOf(loadConfig({ ...bus, ...server, ROLES: 'worker' }))).toEqual(new Set(['worker']))
    expect(rolesOf(loadConfig({ ...bus, ...server, ROLES: 'web,live' }))).toEqual(new Set(['web', 'live']))
    expect(rolesOf(loadConfig({ ...bus, ...server, REDIS_URL: 'redis://redis:6379', ROLES: 'web' }))).toEqual(
      new Set(['web']),
    )
  })

  it('runs the webhook only with an ingest token worth the name', () => {
    expect(problems({ SOURCES: 'simulator,webhook' })).toContain(
      'INGEST_TOKEN: the webhook source needs a token of at least 16 characters (got 0)',
    )
    expect(loadConfig({ SOURCES: 'webhook', INGEST_TOKEN: 'abcdefghijklmnop' })).toMatchObject({ SOURCES: 'webhook' })
  })

  it('converts and accepts good values', () => {
    expect(loadConfig({ PORT: '8080', SIM_SPEED: '0.5', SOURCES: ' simulator ' })).toMatchObject({
      PORT: 8080,
      SIM_SPEED: 0.5,
    })
  })

  it('rejects a bad value, naming the variable, the value and what is expected', () => {
    const message = problems({ PORT: 'eighty' })
    expect(message).toContain('PORT="eighty"')
    expect(message).toContain('HTTP port')
    expect(problems({ PORT: '70000' })).toMatch(/PORT="70000": .*65535/)
    expect(problems({ SIM_SPEED: '0' })).toContain('SIM_SPEED="0"')
    expect(problems({ LOG_LEVEL: 'loud' })).toContain('LOG_LEVEL="loud"')
  })

  it('never shows a secret in a message: credentials in a URL are redacted, secrets and webhook URLs not shown', () => {
    const message = problems({
      REDIS_URL: 'redis//:redis-secret@redis:6379',
      CLICKHOUSE_URL: 'tcp://ch:ch-secret@clickhouse:9000',
      ALERT_WEBHOOK_URL: 'hooks.example/services/T0/B0/hook-secret',
    })
    // Not even a URL (the typo that gets it shown): what comes before its @ is hidden.
    expect(message).toContain('REDIS_URL="***@redis:6379"')
    expect(message).toContain('CLICKHOUSE_URL="tcp://ch:***@clickhouse:9000"')
    expect(message).toContain('ALERT_WEBHOOK_URL=(not shown)')
    expect(message).not.toMatch(/redis-secret|ch-secret|hook-secret/)
  })

  it('rejects unknown and not-yet-available sources', () => {
    expect(problems({ SOURCES: 'simulator,myspace' })).toContain('unknown source "myspace"')
    expect(problems({ SOURCES: 'replay' })).toContain('"replay" is not available yet')
    expect(problems({ SOURCES: ' , ' })).toContain('names no source')
  })

  it('checks the Jetstream settings when Jetstream runs', () => {
    expect(loadConfig({ SOURCES: 'jetstream', COMPETITORS: 'Corvid' })).toMatchObject({
      JETSTREAM_VERSION: '1',
      JETSTREAM_URL: '',
    })
    expect(problems({ SOURCES: 'jetstream', JETSTREAM_VERSION: '2' })).toContain('Jetstream v2 needs its endpoint')
    expect(problems({ SOURCES: 'jetstream', JETSTREAM_VERSION: '3' })).toContain('JETSTREAM_VERSION="3"')
    expect(problems({ SOURCES: 'jetstream', JETSTREAM_URL: 'http://example.com' })).toContain(
      'JETSTREAM_URL="http://example.com"',
    )
    expect(problems({ SOURCES: 'jetstream', JETSTREAM_DIDS: 'did:plc:abc,alice.bsky.social' })).toContain(
      '"alice.bsky.social" is not a DID',
    )
    expect(problems({ JETSTREAM_VERSON: '2' })).toContain('JETSTREAM_VERSON: unknown setting')
  })

  it('checks the Mastodon settings when Mastodon runs', () => {
    const message = problems({ SOURCES: 'mastodon', COMPETITORS: 'Corvid', MASTODON_STREAM: 'home' })
    expect(message).toContain('MASTODON_URL: the mastodon source needs the instance')
    expect(message).toContain('MASTODON_TOKEN: the mastodon source needs an access token')
    expect(message).toContain(
      'MASTODON_STREAM "home": expected public, public:local, hashtag:<tag> or hashtag:local:<tag>',
    )
    expect(problems({ MASTODON_URL: 'mastodon.social' })).toContain('MASTODON_URL="mastodon.social"')
    expect(
      loadConfig({
        SOURCES: 'mastodon',
        COMPETITORS: 'Corvid',
        MASTODON_URL: 'https://mastodon.social',
        MASTODON_TOKEN: 't',
        MASTODON_STREAM: 'hashtag:lumen',
      }),
    ).toMatchObject({ MASTODON_STREAM: 'hashtag:lumen' })
    expect(problems({ MASTODON_TOKN: 'x' })).toContain('MASTODON_TOKN: unknown setting')
  })

  it('rejects competitors the simulator cannot write about', () => {
    expect(problems({ COMPETITORS: 'Corvid' })).toContain('exactly two competitors (got 1)')
    expect(problems({ COMPETITORS: 'Corvid,lumen' })).toContain('must differ')
  })

  it('rejects a misspelt simulator setting instead of ignoring it', () => {
    expect(problems({ SIM_SPED: '5' })).toContain('SIM_SPED: unknown setting')
  })
})
