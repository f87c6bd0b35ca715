// Configuration comes from the environment, is described once here (TypeBox, with defaults and
// docs) and validated at start: a bad or unknown value stops start-up with a message naming it.
// The README's configuration table is generated from this schema (`npm run docs:config`).
import Type, { type Static } from 'typebox'
import Value from 'typebox/value'
import { streamParts } from '../pipelines/sources/mastodon/streams.ts'
import { INTENTS, SOURCE_NAMES } from '../pipelines/vocabulary.ts'
import type { Intent } from '../pipelines/schema.ts'
import type { Routes } from '../pipelines/transforms/route.ts'
import { parseAuthTokens } from './access.ts'
import { parseAllowedHosts } from './hosts.ts'
import { redactAddress } from '../pipelines/redact.ts'

/** Sources that are implemented today; the rest of SOURCE_NAMES arrive with the connectors issue. */
export const AVAILABLE_SOURCES = [
  'simulator',
  'webhook',
  'jetstream',
  'mastodon',
  'hackernews',
] as const satisfies readonly (typeof SOURCE_NAMES)[number][]

export const ConfigSchema = Type.Object(
  {
    PORT: Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 3000,
      description: 'HTTP port of the API and the wall (0 picks a free one).',
    }),
    HOST: Type.String({
      minLength: 1,
      default: '127.0.0.1',
      description: 'Interface to listen on; `0.0.0.0` to serve other machines.',
    }),
    ALLOWED_HOSTS: Type.String({
      default: '',
      description:
        "Host names answered besides `localhost`, IP addresses and (when HOST serves other machines) this machine's name: comma-separated, `.example.com` for a domain and its subdomains, `*` for any. A request for any other name gets 403 (against DNS rebinding); behind a proxy, the Host it sends is checked.",
    }),
    DATA_DIR: Type.String({
      minLength: 1,
      default: './data',
      description:
        'Where the embedded ClickHouse keeps its tables, and (in both modes) the spool and the dead-letter file.',
    }),
    CLICKHOUSE_URL: Type.String({
      default: '',
      pattern: '^(https?://.+)?$',
      description:
        "Server mode: the ClickHouse server's HTTP address, e.g. `http://clickhouse:8123`. Empty: embedded ClickHouse under DATA_DIR.",
    }),
    CLICKHOUSE_USER: Type.String({ minLength: 1, default: 'default', description: 'Server mode: user.' }),
    CLICKHOUSE_PASSWORD: Type.String({ default: '', description: 'Server mode: password.' }),
    CLICKHOUSE_DATABASE: Type.String({
      pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
      default: 'undertow',
      description: 'Server mode: database (created if missing).',
    }),
    INTAKE_SEGMENT_MS: Type.Integer({
      minimum: 10,
      maximum: 3_600_000,
      default: 5_000,
      description:
        'The intake journal (under DATA_DIR/spool/intake): milliseconds after its first event a segment file is closed, to be deleted once its events are stored.',
    }),
    SPOOL_MAX_BYTES: Type.Integer({
      minimum: 0,
      default: 1_073_741_824,
      description:
        "Most bytes each table's on-disk spool may hold while the store is unreachable; past it, batches are dead-lettered. 0 turns spooling off.",
    }),
    RETENTION_DAYS: Type.Integer({
      minimum: 0,
      maximum: 36_500,
      default: 30,
      description: 'Days of posts and aggregates kept; older day partitions are dropped hourly. 0 keeps everything.',
    }),
    CORS_ORIGINS: Type.String({
      default: '',
      description:
        "Comma-separated origins (`https://intranet.example`) whose pages may call the API and open the live stream. Empty: Undertow's own pages only.",
    }),
    AUTH_TOKENS: Type.String({
      default: '',
      description:
        'Access tokens, comma-separated `role:token` (roles `admin` and `viewer`, tokens of at least 16 characters). Set, the API, `/metrics` and the live stream need one; a viewer reads, an admin also acknowledges alerts. A wall link carries a viewer token: `http://host:3000/#/wall?token=<token>`. Empty: open to anyone who can reach the port.',
    }),
    TRUST_PROXY: Type.String({
      default: '',
      pattern: '^(|true|[0-9]+|[0-9A-Fa-f.:/, ]+)$',
      description:
        "Behind a reverse proxy: `true` (trust every proxy), a number of hops, or comma-separated proxy addresses or subnets. Then each client's address (for rate limits), https (for the session cookie's Secure flag) and the host the browser used (for the origin checks of the live stream and of acknowledging) are read from X-Forwarded-For, X-Forwarded-Proto and X-Forwarded-Host. Empty: the connection's own. Behind `deploy/nginx.conf`, its address or `1`.",
    }),
    RATE_LIMIT_PER_MINUTE: Type.Integer({
      minimum: 0,
      default: 1_200,
      description:
        'Requests a minute each client (its token, else its address) may make to the API and the page, and, counted apart, new live-stream (socket.io) connections; past it, 429 with Retry-After. 0: no limit.',
    }),
    INGEST_RATE_LIMIT_PER_MINUTE: Type.Integer({
      minimum: 0,
      default: 6_000,
      description:
        'Requests a minute each sender may make to `POST /api/ingest` (up to 10,000 posts each). 0: no limit.',
    }),
    BUS_URL: Type.String({
      default: '',
      pattern: '^(nats://[^,\\s]+(,nats://[^,\\s]+)*)?$',
      description:
        'Scale-out: NATS JetStream between ingest and the workers, e.g. `nats://nats:4222` (comma-separated for a cluster). Empty: one process reads, classifies, stores and serves.',
    }),
    ROLES: Type.String({
      default: 'all',
      description:
        'With BUS_URL: what this process does, comma-separated: `ingest` (reads the sources, relates their events and publishes them; once per source), `worker` (classifies and stores from the bus; run several), `live` (the live figures and alerts, from what the workers stored; run one), `web` (the API and the wall; run several), or `all`. Any but `all` needs CLICKHOUSE_URL (the processes share one store), and `web` or `live` apart needs REDIS_URL.',
    }),
    REDIS_URL: Type.String({
      default: '',
      pattern: '^(rediss?://.+)?$',
      description:
        "With ROLES: Redis, e.g. `redis://redis:6379`, through which the live process reaches every web process's walls (socket.io's Redis adapter).",
    }),
    BUS_ACK_WAIT_S: Type.Integer({
      minimum: 1,
      maximum: 3_600,
      default: 30,
      description:
        'With BUS_URL: seconds a worker may hold an event without acknowledging it; past that (the worker died), the bus hands it to another worker.',
    }),
    SOURCES: Type.String({
      default: 'simulator',
      description: `Comma-separated sources to run: ${AVAILABLE_SOURCES.join(', ')}.`,
    }),
    INGEST_TOKEN: Type.String({
      default: '',
      description:
        'Webhook (`SOURCES` with `webhook`): the bearer token `POST /api/ingest` requires; at least 16 characters.',
    }),
    JETSTREAM_URL: Type.String({
      default: '',
      pattern: '^(wss?://.+)?$',
      description:
        'Jetstream (`SOURCES` with `jetstream`): the endpoint, path included. Empty: the public `wss://jetstream2.us-east.bsky.network/subscribe` for v1; v2 needs one, ending in `/xrpc/network.bsky.jetstream.subscribeEvents`.',
    }),
    JETSTREAM_VERSION: Type.Enum(['1', '2'], {
      default: '1',
      description:
        'Jetstream: protocol version, 1 (`/subscribe`, time cursor) or 2 (`subscribeEvents`, sequence cursor).',
    }),
    JETSTREAM_OVERLAP_MS: Type.Integer({
      minimum: 0,
      maximum: 600_000,
      default: 10_000,
      description:
        'Jetstream: milliseconds before the saved cursor a resume starts (Jetstream asks clients to overlap; what comes twice is dropped). 0 resumes at the cursor itself.',
    }),
    JETSTREAM_DIDS: Type.String({
      default: '',
      description:
        'Jetstream: comma-separated DIDs to follow alone (`wantedDids` / `dids`); empty follows the whole network.',
    }),
    MASTODON_URL: Type.String({
      default: '',
      pattern: '^(https?://[^/\\s]+/?)?$',
      description: 'Mastodon (`SOURCES` with `mastodon`): the instance, e.g. `https://mastodon.social`.',
    }),
    MASTODON_TOKEN: Type.String({
      default: '',
      description:
        'Mastodon: an access token of an account on that instance (Settings, Development, New application, scope `read`); streaming needs one since Mastodon 4.2.',
    }),
    MASTODON_STREAM: Type.String({
      default: 'public',
      description: 'Mastodon: `public`, `public:local`, `hashtag:<tag>` or `hashtag:local:<tag>`.',
    }),
    HN_API_URL: Type.String({
      default: 'https://hacker-news.firebaseio.com/v0',
      pattern: '^https?://.+$',
      description:
        'Hacker News (`SOURCES` with `hackernews`): the v0 API root; new stories and comments are polled every 5 seconds.',
    }),
    SOURCE_DOWN_GRACE_S: Type.Integer({
      minimum: 0,
      maximum: 3_600,
      default: 30,
      description:
        'Seconds a live source (Jetstream, Mastodon, Hacker News) may be disconnected, reconnecting, before `/readyz` answers 503; at start, how long it has to connect.',
    }),
    SIM_SPEED: Type.Number({
      exclusiveMinimum: 0,
      maximum: 100_000,
      default: 10,
      description: 'Simulator: simulated seconds per real second.',
    }),
    SIM_SEED: Type.Integer({ default: 42, description: 'Simulator: random seed; the same seed gives the same posts.' }),
    BRANDS_FILE: Type.String({
      default: '',
      description:
        'The tracking file (YAML or JSON): brands, their keywords, own accounts per network and competitors; see `docs/brands.example.yaml`. Empty: BRAND and COMPETITORS name them.',
    }),
    BRAND: Type.String({
      minLength: 1,
      maxLength: 64,
      default: 'Lumen',
      description: 'Without BRANDS_FILE: the brand the wall watches (the simulator writes about it).',
    }),
    COMPETITORS: Type.String({
      default: 'Corvid,Nimbus',
      description: 'Without BRANDS_FILE: comma-separated competitor brands, shown beside it.',
    }),
    REPLY_ALL_MENTIONS: Type.Boolean({
      default: false,
      description:
        "Responsiveness: every post that @-mentions one of a brand's own accounts needs a reply, not only questions, complaints and support needs.",
    }),
    REPLY_TARGET_MINUTES: Type.Integer({
      minimum: 1,
      maximum: 7 * 24 * 60,
      default: 60,
      description:
        'Responsiveness: minutes within which a mention that needs a reply should get one; past it the mention is overdue (and counts toward backlash risk when negative).',
    }),
    ROUTES: Type.String({
      default:
        'question=support,complaint=support,support=support,suggestion=product,comparison=product,praise=marketing',
      description:
        'Routing: comma-separated `intent=team`; each team gets the posts with those intents live (socket.io `?team=<name>`, `team.posts.v1`) and in history (`GET /api/teams/<team>/posts`). Intents: question, suggestion, complaint, praise, comparison, support.',
    }),
    TEAM_WEBHOOKS: Type.String({
      default: '',
      description:
        "Routing: comma-separated `team=URL`; each team's routed posts are posted there as they arrive (JSON with `text`, `team`, `posts`).",
    }),
    ALERT_WEBHOOK_URL: Type.String({
      default: '',
      pattern: '^(https?://.+)?$',
      description:
        'Backlash alerts (raised, escalated, resolved) are posted here as Slack-compatible JSON (`text`, `blocks`, and the `alert`). Empty: none.',
    }),
    SENTIMENT_MODEL: Type.String({
      default: '',
      description:
        'Classifier: empty for the bundled multi-task model (models/middle: sentiment, emotions, mixed, questions, suggestions, comparisons), `models/sentiment` for the earlier sentiment-only model with rules for the intents, `lexicon` for VADER, or a model folder or Hugging Face hub id.',
    }),
    SCORED_LANGUAGES: Type.String({
      default: 'en',
      pattern: '^\\s*(\\*|[A-Za-z]{2}(\\s*,\\s*[A-Za-z]{2})*)\\s*$',
      description:
        'Classifier: the languages SENTIMENT_MODEL reads, as comma-separated ISO 639-1 codes, or `*` for all. A post whose text is in another language (told by eld) is stored and counted in volume and share of voice, but unscored: no label, in no sentiment share, the middle or the backlash score.',
    }),
    SENTIMENT_THREADS: Type.Integer({
      minimum: 0,
      maximum: 64,
      default: 1,
      description:
        "Classifier: ONNX Runtime threads per batch, on the classifier's own thread beside the server's; 0 lets ONNX Runtime choose (all cores, spinning between batches).",
    }),
    LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      default: 'info',
      description: 'Log level (pino).',
    }),
  },
  { additionalProperties: false },
)
export type Config = Static<typeof ConfigSchema>

/** Values never shown in a message: secrets, and webhook URLs (their path is the secret). */
const SECRET_KEYS = new Set([
  'CLICKHOUSE_PASSWORD',
  'AUTH_TOKENS',
  'INGEST_TOKEN',
  'MASTODON_TOKEN',
  'ALERT_WEBHOOK_URL',
  'TEAM_WEBHOOKS',
])
const shown = (key: string, value: string | undefined) =>
  SECRET_KEYS.has(key)
    ? '(not shown)'
    : JSON.stringify(value !== undefined && key.endsWith('_URL') ? redactAddress(value) : value)

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

const KEYS = Object.keys(ConfigSchema.properties) as (keyof Config)[]

/**
 * Reads the keys this app owns from an environment-like record. Other variables (PATH and friends)
 * are not ours and are ignored, except in our SIM_ namespace, where an unknown key is a typo.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const raw: Record<string, unknown> = {}
  for (const key of KEYS) {
    const value = env[key]
    if (value !== undefined && value !== '') raw[key] = value
  }
  const problems = nearMisses(env)
  const candidate = Value.Convert(ConfigSchema, Value.Default(ConfigSchema, raw)) as Record<string, unknown>
  for (const error of Value.Errors(ConfigSchema, candidate)) {
    const key = error.instancePath.replace(/^\//, '') as keyof Config
    if (!key) continue
    const schema = ConfigSchema.properties[key] as { description?: string }
    problems.push(`${key}=${shown(key, env[key])}: ${error.message} (${schema.description ?? ''})`)
  }
  if (env.BRANDS_FILE && (env.BRAND || env.COMPETITORS))
    problems.push('BRAND, COMPETITORS: BRANDS_FILE names the brands; remove these or BRANDS_FILE')
  if (problems.length === 0)
    problems.push(
      ...checkSources(String(candidate.SOURCES)),
      ...checkBrands(candidate as Config),
      ...checkIngest(candidate as Config),
      ...checkOrigins(candidate as Config),
      ...checkAccess(candidate as Config),
      ...parseAllowedHosts(String(candidate.ALLOWED_HOSTS)).problems,
      ...checkJetstream(candidate as Config),
      ...checkMastodon(candidate as Config),
      ...checkRoles(candidate as Config),
      ...routingOf(candidate as Config).problems,
    )
  if (problems.length > 0) throw new ConfigError([...new Set(problems)])
  return candidate as Config
}

/** TRUST_PROXY as Fastify's `trustProxy` takes it: a number of hops becomes the rule "the nearest n". */
export function trustProxyOf(value: string): boolean | string | ((address: string, hop: number) => boolean) {
  if (value === '') return false
  if (value === 'true') return true
  if (!/^\d+$/.test(value)) return value
  const hops = Number(value)
  return (_address, hop) => hop < hops
}

export function listOf(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
}

function checkSources(value: string): string[] {
  const names = listOf(value)
  if (names.length === 0)
    return [`SOURCES=${JSON.stringify(value)}: names no source (expected some of ${AVAILABLE_SOURCES.join(', ')})`]
  return names
    .filter((name) => !(AVAILABLE_SOURCES as readonly string[]).includes(name))
    .map((name) =>
      (SOURCE_NAMES as readonly string[]).includes(name)
        ? `SOURCES: "${name}" is not available yet (available: ${AVAILABLE_SOURCES.join(', ')})`
        : `SOURCES: unknown source "${name}" (expected some of ${AVAILABLE_SOURCES.join(', ')})`,
    )
}

function checkBrands(config: Config): string[] {
  // The tracking file is read and checked on its own (server/tracking-file.ts).
  if (config.BRANDS_FILE) return []
  const competitors = listOf(config.COMPETITORS)
  const names = [config.BRAND, ...competitors].map((n) => n.toLowerCase())
  const problems: string[] = []
  if (new Set(names).size !== names.length)
    problems.push(
      `COMPETITORS=${JSON.stringify(config.COMPETITORS)}: names must differ from each other and from BRAND (${config.BRAND})`,
    )
  if (listOf(config.SOURCES).includes('simulator') && competitors.length !== 2)
    problems.push(
      `COMPETITORS=${JSON.stringify(config.COMPETITORS)}: the simulator writes about exactly two competitors (got ${competitors.length})`,
    )
  return problems
}

function checkJetstream(config: Config): string[] {
  if (!listOf(config.SOURCES).includes('jetstream')) return []
  const problems: string[] = []
  if (
    config.JETSTREAM_VERSION === '2' &&
    !config.JETSTREAM_URL.endsWith('/xrpc/network.bsky.jetstream.subscribeEvents')
  )
    problems.push(
      `JETSTREAM_URL=${JSON.stringify(config.JETSTREAM_URL)}: Jetstream v2 needs its endpoint, ending in /xrpc/network.bsky.jetstream.subscribeEvents`,
    )
  for (const did of listOf(config.JETSTREAM_DIDS))
    if (!/^did:[a-z]+:[A-Za-z0-9._:%-]+$/.test(did))
      problems.push(`JETSTREAM_DIDS: "${did}" is not a DID (did:plc:... or did:web:...)`)
  return problems
}

function checkMastodon(config: Config): string[] {
  if (!listOf(config.SOURCES).includes('mastodon')) return []
  const problems: string[] = []
  if (!config.MASTODON_URL)
    problems.push('MASTODON_URL: the mastodon source needs the instance, e.g. https://mastodon.social')
  if (!config.MASTODON_TOKEN)
    problems.push(
      'MASTODON_TOKEN: the mastodon source needs an access token (Mastodon 4.2 and later stream only to signed-in applications)',
    )
  try {
    streamParts(config.MASTODON_STREAM)
  } catch (error) {
    problems.push((error as Error).message)
  }
  return problems
}

/** ROUTES and TEAM_WEBHOOKS read and checked: every intent known, every team routed to, every URL a URL. */
export function routingOf(config: Pick<Config, 'ROUTES' | 'TEAM_WEBHOOKS'>): {
  routes: Routes
  webhooks: Map<string, string>
  problems: string[]
} {
  const problems: string[] = []
  const routes: Partial<Record<Intent, string>> = {}
  for (const pair of listOf(config.ROUTES)) {
    const [intent, team, extra] = pair.split('=').map((s) => s.trim())
    if (!intent || !team || extra !== undefined) problems.push(`ROUTES: "${pair}" is not intent=team`)
    else if (!(INTENTS as readonly string[]).includes(intent))
      problems.push(`ROUTES: "${intent}" is not an intent (expected ${INTENTS.join(', ')})`)
    else if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(team))
      problems.push(`ROUTES: team "${team}" must be lower-case letters, digits, - or _`)
    else routes[intent as Intent] = team
  }
  const teams = new Set(Object.values(routes))
  const webhooks = new Map<string, string>()
  for (const pair of listOf(config.TEAM_WEBHOOKS)) {
    const at = pair.indexOf('=')
    const team = pair.slice(0, at).trim()
    const url = pair.slice(at + 1).trim()
    if (at <= 0) problems.push(`TEAM_WEBHOOKS: "${pair}" is not team=URL`)
    else if (!teams.has(team))
      problems.push(`TEAM_WEBHOOKS: no intent is routed to team "${team}" (teams: ${[...teams].join(', ') || 'none'})`)
    else if (!/^https?:\/\/\S+$/.test(url))
      problems.push(
        `TEAM_WEBHOOKS: the URL for ${team} is not an http(s) URL (not shown: a webhook's URL is its secret)`,
      )
    else webhooks.set(team, url)
  }
  return { routes, webhooks, problems }
}

function checkOrigins(config: Config): string[] {
  return listOf(config.CORS_ORIGINS).flatMap((origin) => {
    let url: URL | undefined
    try {
      url = new URL(origin)
    } catch {
      url = undefined
    }
    return url && /^https?:$/.test(url.protocol) && url.origin === origin.replace(/\/$/, '')
      ? []
      : [
          `CORS_ORIGINS: "${origin}" is not an origin (expected a scheme, a host and an optional port, e.g. https://intranet.example:8443)`,
        ]
  })
}

function checkAccess(config: Config): string[] {
  const { tokens, problems } = parseAuthTokens(config.AUTH_TOKENS)
  if (config.INGEST_TOKEN && tokens.some((t) => t.token === config.INGEST_TOKEN))
    problems.push(
      "INGEST_TOKEN: the webhook's token must differ from every AUTH_TOKENS token (a sender must not be able to read, nor a wall link to send)",
    )
  return problems
}

function checkIngest(config: Config): string[] {
  if (!listOf(config.SOURCES).includes('webhook') || config.INGEST_TOKEN.length >= 16) return []
  return [
    `INGEST_TOKEN: the webhook source needs a token of at least 16 characters (got ${config.INGEST_TOKEN.length})`,
  ]
}

// Our keys share prefixes (SIM_, CLICKHOUSE_, JETSTREAM_, MASTODON_, AUTH_, RATE_LIMIT_, INGEST_); a variable that starts like one of
// ours but is not one is almost certainly a typo that would otherwise be silently ignored.
const NAMESPACES = ['SIM_', 'CLICKHOUSE_', 'JETSTREAM_', 'MASTODON_', 'AUTH_', 'RATE_LIMIT_', 'INGEST_']

function nearMisses(env: Record<string, string | undefined>): string[] {
  return Object.keys(env).flatMap((key) => {
    const prefix = NAMESPACES.find((p) => key.startsWith(p))
    if (!prefix || (KEYS as string[]).includes(key)) return []
    return [`${key}: unknown setting (known: ${KEYS.filter((k) => k.startsWith(prefix)).join(', ')})`]
  })
}

export const PROCESS_ROLES = ['ingest', 'worker', 'live', 'web'] as const
export type ProcessRole = (typeof PROCESS_ROLES)[number]

/** What this process does: every role without a bus (one process), else those ROLES names. */
export function rolesOf(config: Pick<Config, 'BUS_URL' | 'ROLES'>): Set<ProcessRole> {
  const names = listOf(config.ROLES)
  return new Set(!config.BUS_URL || names.includes('all') ? PROCESS_ROLES : (names as ProcessRole[]))
}

function checkRoles(config: Config): string[] {
  const names = listOf(config.ROLES)
  const unknown = names.filter((n) => n !== 'all' && !(PROCESS_ROLES as readonly string[]).includes(n))
  if (names.length === 0 || unknown.length > 0)
    return [`ROLES=${JSON.stringify(config.ROLES)}: expected some of ${PROCESS_ROLES.join(', ')}, or all`]
  if (names.includes('all')) return []
  if (!config.BUS_URL)
    return [
      `ROLES=${config.ROLES}: roles are for processes that share a bus; set BUS_URL (nats://...), or leave ROLES at all`,
    ]
  if (!config.CLICKHOUSE_URL)
    return [
      `ROLES=${config.ROLES}: processes with roles share one store; set CLICKHOUSE_URL (the embedded store belongs to a single process)`,
    ]
  const apart = (names.includes('web') || names.includes('live')) && !(names.includes('web') && names.includes('live'))
  if (apart && !config.REDIS_URL)
    return [
      `ROLES=${config.ROLES}: the live process reaches the web processes' walls through Redis; set REDIS_URL (redis://...)`,
    ]
  return []
}
