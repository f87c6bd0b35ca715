// What the bus carries, checked on the way in: a worker takes only related events of the shapes
// ingest publishes, and the live process only records of the shape workers publish. Anything else
// (another publisher on the subjects, a version mismatch) is refused with where and why.
import Type from 'typebox'
import type { RelatedEvent } from '../contract.ts'
import { Compile } from 'typebox/compile'
import { EngagementUpdate, Post, PostDeletion, ScoredPost, SourceName } from '../schema.ts'
import type { SettledRecord } from './settlement.ts'

const Strings = Type.Array(Type.String())
const MentionContext = Type.Object(
  {
    needsReply: Type.Optional(Strings),
    stored: Type.Optional(Type.String()),
    text: Type.Optional(Type.String()),
    brands: Type.Optional(Strings),
    terms: Type.Optional(Strings),
  },
  { additionalProperties: false },
)
const AttributedEngagement = Type.Object(
  { ...EngagementUpdate.properties, source: Type.Union([SourceName, Type.Literal('')]), brands: Strings },
  { additionalProperties: false },
)

const RelatedEventSchema = Type.Union([
  Type.Object(
    { kind: Type.Literal('post'), post: Post, mention: Type.Optional(MentionContext) },
    { additionalProperties: false },
  ),
  Type.Object({ kind: Type.Literal('engagement'), update: AttributedEngagement }, { additionalProperties: false }),
  Type.Object(
    { kind: Type.Literal('delete'), deletion: PostDeletion, createdAt: Type.String({ format: 'date-time' }) },
    { additionalProperties: false },
  ),
])
const SettledRecordSchema = Type.Object(
  {
    seq: Type.Integer({ minimum: 1 }),
    post: Type.Optional(ScoredPost),
    hidden: Type.Optional(Type.Literal(true)),
    engagement: Type.Optional(AttributedEngagement),
  },
  { additionalProperties: false },
)
const SettledRecords = Type.Array(SettledRecordSchema)

const relatedValidator = Compile(RelatedEventSchema)
const settledValidator = Compile(SettledRecords)

type Read<T> = { ok: true; value: T } | { ok: false; reason: string }

function parse(text: string): Read<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (error) {
    return { ok: false, reason: `not JSON (${(error as Error).message})` }
  }
}

function firstError(errors: Iterable<{ instancePath: string; message: string }>): string {
  for (const e of errors) return `${e.instancePath || '/'} ${e.message}`
  return 'not of the expected shape'
}

export function readRelated(text: string): Read<RelatedEvent> {
  const parsed = parse(text)
  if (!parsed.ok) return parsed
  return relatedValidator.Check(parsed.value)
    ? { ok: true, value: parsed.value as RelatedEvent }
    : { ok: false, reason: `not a related event: ${firstError(relatedValidator.Errors(parsed.value))}` }
}

export function readSettled(text: string): Read<SettledRecord[]> {
  const parsed = parse(text)
  if (!parsed.ok) return parsed
  return settledValidator.Check(parsed.value)
    ? { ok: true, value: parsed.value as SettledRecord[] }
    : { ok: false, reason: `not settled records: ${firstError(settledValidator.Errors(parsed.value))}` }
}
