import { describe, expect, it } from 'vitest'
import { compileTracking, matchOne } from '../../../pipelines/transforms/match.ts'
import { tracking } from '../../support/fixtures.ts'
import { post } from '../../support/posts.ts'

describe('match', () => {
  const matchers = compileTracking(tracking)
  it('matches keywords as whole words, any case, and @handles', () => {
    expect(matchOne(post({ text: 'LUMEN vs corvid, which one?' }), matchers)).toMatchObject({
      brands: ['Lumen', 'Corvid'],
      terms: ['lumen', 'corvid'],
    })
    expect(matchOne(post({ text: 'asking @lumensupport about it' }), matchers)).toMatchObject({ brands: ['Lumen'] })
    expect(matchOne(post({ text: 'luminescence and nimbuses are not brands' }), matchers)).toBeNull()
  })

  it("marks the brand's own posts and does not count them as mentions of it", () => {
    const own = matchOne(
      post({
        text: 'Lumen here: a fix is coming',
        author: { id: 'b', handle: 'lumensupport', displayName: 'Lumen Support', followers: 1 },
      }),
      matchers,
    )
    expect(own).toMatchObject({ brands: [], ownBrand: 'Lumen' })
  })
})
