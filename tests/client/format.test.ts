// The wall's figures in words: changes against the period before, durations, ratios that may be
// missing, and the places (view and filters) kept in the URL.
import { describe, expect, it } from 'vitest'
import { change, count, duration, percent, pointChange, signed } from '../../client/src/lib/format.ts'
import { safeUrl } from '../../client/src/lib/links.ts'
import { href, parsePlace } from '../../client/src/lib/route.svelte.ts'

describe('figures', () => {
  it('states a change against the period before, or that there was none to compare with', () => {
    expect(change(150, 100)).toEqual({ text: '+50%', direction: 'up' })
    expect(change(95, 100)).toEqual({ text: '−5.0%', direction: 'down' })
    expect(change(100, 100)).toEqual({ text: 'no change', direction: 'flat' })
    expect(change(7, 0)).toEqual({ text: 'new', direction: 'up' })
    expect(change(null, 3)).toEqual({ text: 'no earlier figure', direction: 'flat' })
    expect(pointChange(0.31, 0.25)).toEqual({ text: '+6.0 pts', direction: 'up' })
    expect(pointChange(-0.2, 0.1)).toEqual({ text: '−30.0 pts', direction: 'down' })
    expect(pointChange(0.5, null)).toEqual({ text: 'no earlier figure', direction: 'flat' })
  })

  it('reads ratios, signed figures, counts and durations, with a dash for what has no value', () => {
    expect(percent(0.456)).toBe('46%')
    expect(percent(null)).toBe('—')
    expect(signed(0.4)).toBe('+0.40')
    expect(signed(-0.25)).toBe('−0.25')
    expect(signed(null)).toBe('—')
    expect(count(9_999)).toBe('9999')
    expect(count(12_345)).toBe('12.3K')
    expect(duration(42)).toBe('42 s')
    expect(duration(15 * 60)).toBe('15 min')
    expect(duration(3_900)).toBe('1 h 05 min')
    expect(duration(3 * 86_400 + 7_200)).toBe('3 d 2 h')
    expect(duration(null)).toBe('—')
  })
})

describe('places and links', () => {
  it('keeps a view and its filters in the URL hash, and reads them back', () => {
    const params = new URLSearchParams({ brand: 'Lumen', labels: 'negative,neutral', q: 'battery & "drain"' })
    const place = parsePlace(href('explore', params))
    expect(place.view).toBe('explore')
    expect(Object.fromEntries(place.params)).toEqual(Object.fromEntries(params))
    expect(parsePlace('#/nowhere').view).toBe('wall')
    expect(parsePlace('').view).toBe('wall')
  })

  it('makes links only of http(s) addresses', () => {
    expect(safeUrl('https://bsky.app/profile/x/post/1')).toBe('https://bsky.app/profile/x/post/1')
    for (const bad of ['javascript:alert(1)', 'JAVASCRIPT:alert(1)', 'data:text/html,<b>x</b>', '//evil.example', ''])
      expect(safeUrl(bad)).toBeUndefined()
  })
})
