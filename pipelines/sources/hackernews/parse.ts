// Hacker News items (API v0, github.com/HackerNews/API), read into Undertow's events: pure
// functions. An item is {"id", "type": "story" | "comment" | "job" | "poll" | "pollopt", "by",
// "time" (unix seconds), "text" (HTML), "title", "url", "parent", "score", "descendants", "kids",
// "deleted", "dead"}; fields that do not apply are left out, and a missing item is `null`.
import type { Post, SourceEvent } from '../../schema.ts'
import { plainText } from '../html.ts'
import { show } from '../show.ts'

export interface Item {
  id: number
  type: 'story' | 'comment' | 'job' | 'poll' | 'pollopt'
  by?: string
  time?: number
  text?: string
  title?: string
  url?: string
  parent?: number
  score?: number
  descendants?: number
  deleted?: boolean
  dead?: boolean
}

const TYPES = new Set(['story', 'comment', 'job', 'poll', 'pollopt'])
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0
const optional = (v: unknown, type: 'string' | 'number' | 'boolean') => v === undefined || typeof v === type

/** The item, `null` for one the API does not have (yet), or what is wrong with it. */
export function checkItem(value: unknown): Item | null | string {
  if (value === null) return null
  if (!isObject(value)) return `item: expected an object or null, got ${show(value)}`
  if (!isId(value.id)) return `item.id: expected a positive integer, got ${show(value.id)}`
  if (typeof value.type !== 'string' || !TYPES.has(value.type))
    return `item ${value.id}.type: expected story, comment, job, poll or pollopt, got ${show(value.type)}`
  for (const key of ['by', 'text', 'title', 'url'] as const)
    if (!optional(value[key], 'string')) return `item ${value.id}.${key}: expected a string`
  if (value.by === '') return `item ${value.id}.by: expected a user name, got an empty one`
  for (const key of ['score', 'descendants', 'time'] as const)
    if (!optional(value[key], 'number')) return `item ${value.id}.${key}: expected a number`
  for (const key of ['deleted', 'dead'] as const)
    if (!optional(value[key], 'boolean')) return `item ${value.id}.${key}: expected true or false`
  if (value.parent !== undefined && !isId(value.parent)) return `item ${value.id}.parent: expected an item id`
  if (value.time !== undefined && !(Number.isSafeInteger(value.time) && (value.time as number) > 0))
    return `item ${value.id}.time: expected unix seconds`
  return value as unknown as Item
}

export const itemId = (id: number) => `hackernews:${id}`

/** Whether an item is one Undertow reads: stories, polls and comments that are there and alive. */
export const readable = (item: Item) =>
  !item.deleted &&
  !item.dead &&
  (item.type === 'story' || item.type === 'poll' || item.type === 'comment') &&
  item.by !== undefined &&
  item.time !== undefined

const ZERO = { likes: 0, reposts: 0, replies: 0, quotes: 0 }

/**
 * The post an item is, and a reply counted on its parent for a comment. A story's text is its
 * title, then its own text (Ask HN); a comment's is its text. Points are likes; `descendants`
 * (every comment under a story) is its replies at the time it is read.
 */
export function eventsOf(item: Item): SourceEvent[] {
  if (!readable(item)) return []
  const id = itemId(item.id)
  const at = new Date(item.time! * 1000).toISOString()
  const body = item.text ? plainText(item.text) : ''
  const text = item.type === 'comment' ? body : [item.title ?? '', body].filter((t) => t !== '').join('\n\n')
  if (text.trim() === '') return []
  const post: Post = {
    id,
    source: 'hackernews',
    url: item.type !== 'comment' && item.url ? item.url : `https://news.ycombinator.com/item?id=${item.id}`,
    author: { id: item.by!, handle: item.by!.toLowerCase(), displayName: item.by!, followers: 0 },
    text,
    lang: '',
    createdAt: at,
    ...(item.type === 'comment' && item.parent ? { replyTo: itemId(item.parent) } : {}),
    engagement: {
      ...ZERO,
      likes: Math.max(0, (item.score ?? 1) - 1),
      replies: item.type === 'comment' ? 0 : (item.descendants ?? 0),
    },
    brands: [],
    terms: [],
  }
  const events: SourceEvent[] = [{ kind: 'post', post }]
  if (post.replyTo)
    events.push({
      kind: 'engagement',
      update: { id: `${id}#reply`, postId: post.replyTo, at, delta: { ...ZERO, replies: 1 } },
    })
  return events
}
