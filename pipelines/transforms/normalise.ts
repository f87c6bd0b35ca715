// normalise: every post, whatever its source, leaves here valid against the Post schema, with
// canonical text (NFC, no control characters, collapsed spaces), handle and timestamp. A post that
// cannot be made valid goes to the dead-letter record with the schema's own words for why.
import { filter, map, type OperatorFunction } from 'rxjs'
import { Compile } from 'typebox/compile'
import { Post } from '../schema.ts'
import type { DeadLetter } from '../sinks/deadletter.ts'

const validator = Compile(Post)
// C0/C1 controls other than tab and newline, plus zero-width and bidi overrides that hide text.
const INVISIBLE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/g

export type Normalised = { ok: true; post: Post } | { ok: false; reason: string }

export function normaliseOne(input: unknown): Normalised {
  if (!validator.Check(input)) {
    const first = [...validator.Errors(input)].slice(0, 3)
    return { ok: false, reason: first.map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ') || 'not a post' }
  }
  const time = Date.parse(input.createdAt)
  if (Number.isNaN(time)) return { ok: false, reason: `/createdAt is not a date: ${JSON.stringify(input.createdAt)}` }
  const text = input.text.normalize('NFC').replace(INVISIBLE, '').replace(/[ \t]+/g, ' ').replace(/\n{3,}/g, '\n\n').trim()
  if (text.length === 0) return { ok: false, reason: '/text is empty' }
  return {
    ok: true,
    post: {
      ...input,
      text,
      author: { ...input.author, handle: input.author.handle.replace(/^@/, '').toLowerCase() },
      createdAt: new Date(time).toISOString(),
    },
  }
}

export function normalise(deadLetter: DeadLetter): OperatorFunction<unknown, Post> {
  return (input$) =>
    input$.pipe(
      map((input) => ({ input, result: normaliseOne(input) })),
      filter(({ input, result }) => {
        if (!result.ok) deadLetter.record('normalise', result.reason, input)
        return result.ok
      }),
      map(({ result }) => (result as { post: Post }).post),
    )
}
