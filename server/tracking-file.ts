// The tracking file (BRANDS_FILE): which brands to watch, the words that mention each, its own
// accounts on each network (for responsiveness: a reply from one of them is the brand answering)
// and its competitors (share of voice). YAML or JSON (YAML reads both), checked against the schema
// below at start: an unknown key or a bad value stops start-up with a message naming where it is.
// docs/brands.example.yaml is the documented example, and a test keeps it valid.
import { readFileSync } from 'node:fs'
import Type, { type Static } from 'typebox'
import Value from 'typebox/value'
import { parse as parseYaml } from 'yaml'
import type { TrackedBrand } from '../pipelines/schema.ts'

const Account = Type.String({ minLength: 1, maxLength: 256, pattern: '^@?[^\\s@]+(@[^\\s@]+)?$' })
const Accounts = Type.Array(Account, { maxItems: 100 })

export const BrandEntry = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64, description: 'How the brand is shown and stored.' }),
    keywords: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), {
      minItems: 1,
      maxItems: 200,
      description: 'Words or phrases that mention it, matched as whole words, in any case.',
    }),
    accounts: Type.Optional(
      Type.Object(
        {
          bluesky: Type.Optional(Accounts),
          mastodon: Type.Optional(Accounts),
          hackernews: Type.Optional(Accounts),
          other: Type.Optional(Accounts),
        },
        {
          additionalProperties: false,
          description:
            'Its own accounts per network: Bluesky handles or DIDs, Mastodon user@instance, Hacker News users, handles of other sources.',
        },
      ),
    ),
    competitors: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
        maxItems: 20,
        description: 'Names of other brands in this file it is compared with.',
      }),
    ),
  },
  { additionalProperties: false },
)

export const BrandsFile = Type.Object(
  { brands: Type.Array(BrandEntry, { minItems: 1, maxItems: 100 }) },
  { additionalProperties: false },
)
export type BrandsFile = Static<typeof BrandsFile>

export class TrackingFileError extends Error {
  constructor(
    readonly path: string,
    readonly problems: string[],
  ) {
    super(`BRANDS_FILE ${path}:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'TrackingFileError'
  }
}

/** The schema's complaints, worded for someone editing the file: where, and what is wrong. */
function schemaProblems(value: unknown): string[] {
  const problems: string[] = []
  for (const error of Value.Errors(BrandsFile, value)) {
    // "schema is false" repeats an unknown key that additionalProperties names better.
    if (error.keyword === 'boolean') continue
    const where = error.instancePath || '/'
    if (error.keyword === 'additionalProperties') {
      const extra = (error.params as { additionalProperties?: string[] }).additionalProperties ?? []
      for (const key of extra) problems.push(`${where === '/' ? '' : where}/${key}: unknown key`)
    } else problems.push(`${where}: ${error.message}`)
  }
  return problems
}

/** What the file says, checked beyond its shape: names unique, competitors named in the file. */
function crossProblems(file: BrandsFile): string[] {
  const problems: string[] = []
  const names = new Map<string, number>()
  file.brands.forEach((brand, i) => {
    const key = brand.name.trim().toLowerCase()
    if (names.has(key)) problems.push(`/brands/${i}/name: "${brand.name}" is already /brands/${names.get(key)}`)
    else names.set(key, i)
    brand.keywords.forEach((k, j) => k.trim() === '' && problems.push(`/brands/${i}/keywords/${j}: blank`))
  })
  file.brands.forEach((brand, i) =>
    (brand.competitors ?? []).forEach((c, j) => {
      const key = c.trim().toLowerCase()
      if (key === brand.name.trim().toLowerCase())
        problems.push(`/brands/${i}/competitors/${j}: a brand is not its own competitor`)
      else if (!names.has(key))
        problems.push(
          `/brands/${i}/competitors/${j}: "${c}" is not a brand in this file (list it under brands, with its keywords)`,
        )
    }),
  )
  return problems
}

/** Reads and checks a tracking file; throws a TrackingFileError naming every problem. */
export function readTrackingFile(path: string): BrandsFile {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new TrackingFileError(path, [
      `cannot read it: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    ])
  }
  let value: unknown
  try {
    value = parseYaml(text, { uniqueKeys: true, maxAliasCount: 100 })
  } catch (error) {
    throw new TrackingFileError(path, [`not YAML or JSON: ${(error as Error).message.split('\n')[0]}`])
  }
  const problems = schemaProblems(value)
  if (problems.length === 0) problems.push(...crossProblems(value as BrandsFile))
  if (problems.length > 0) throw new TrackingFileError(path, problems)
  return value as BrandsFile
}

const account = (a: string) => a.trim().replace(/^@/, '').toLowerCase()

/** The brands as the pipeline tracks them: the first is the one the wall watches. */
export function trackingOf(file: BrandsFile): TrackedBrand[] {
  const names = new Map(file.brands.map((b) => [b.name.trim().toLowerCase(), b.name.trim()]))
  return file.brands.map((b) => ({
    name: b.name.trim(),
    handles: [
      ...new Set(
        Object.values(b.accounts ?? {})
          .flat()
          .map(account),
      ),
    ],
    keywords: b.keywords.map((k) => k.trim()),
    competitors: (b.competitors ?? []).map((c) => names.get(c.trim().toLowerCase())!),
  }))
}
