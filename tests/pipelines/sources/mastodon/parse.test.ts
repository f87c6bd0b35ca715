// A REST timeline page as Mastodon answers it (newest first), read the way the backfill takes it.
import { describe, expect, it } from 'vitest'
import { readTimelinePage } from '../../../../pipelines/sources/mastodon/parse.ts'

const status = (id: string) => ({
  id,
  uri: `https://example.social/users/a/statuses/${id}`,
  created_at: '2026-11-30T08:00:00.000Z',
  content: '<p>the Lumen X2 is out</p>',
  account: { id: '1', username: 'a', acct: 'a', followers_count: 3 },
})

describe('a timeline page', () => {
  it('is read oldest first; a malformed status is refused with why, and its id still counts as read', () => {
    const page = readTimelinePage(
      [status('300'), { ...status('200'), created_at: 'yesterday' }, status('100')],
      'example.social',
      '/api/v1/timelines/public',
    )
    expect(page.items.map((i) => (i.ok ? i.status.id : 'bad'))).toEqual(['100', 'bad', '300'])
    const bad = page.items[1]!
    expect(bad.ok === false && bad.reason).toContain('created_at')
    expect(page.items[0]!.ok && page.items[0]!.events[0]?.kind).toBe('post')
    expect(page.newestId).toBe('300')
  })

  it('refuses an answer that is not a list of statuses, and has no newest id for an empty one', () => {
    expect(() => readTimelinePage({ error: 'nope' }, 'example.social', '/api/v1/timelines/public')).toThrow(
      '/api/v1/timelines/public answered something other than a list of statuses',
    )
    expect(readTimelinePage([], 'example.social', '/x')).toEqual({ items: [] })
  })
})
