import { describe, expect, it } from 'vitest'
import { LexiconClassifier, scoresFromCompound, scoreText } from '../../models/lexicon.ts'
import { detectIntents, labelOf, normalisedEntropy } from '../../models/middle.ts'

describe('lexicon classifier (interim, VADER)', () => {
  it('labels clear cases', async () => {
    const results = await new LexiconClassifier().classify([
      'I absolutely love this phone, the camera is amazing',
      'worst purchase ever, it broke in a day and support is useless',
      'the store opens at nine tomorrow',
    ])
    expect(results.map((r) => r.label)).toEqual(['positive', 'negative', 'neutral'])
  })

  it('returns three probabilities that sum to 1, and confidence is the chosen one', () => {
    for (const text of ['great', 'awful', 'a table', 'love it but hate the price']) {
      const s = scoreText(text)
      expect(s.scores.negative + s.scores.neutral + s.scores.positive).toBeCloseTo(1, 10)
      expect(s.confidence).toBe(s.scores[s.label])
    }
  })

  it("agrees with VADER's own thresholds on the compound score", () => {
    expect(labelOf(scoresFromCompound(0.04))).toBe('neutral')
    expect(labelOf(scoresFromCompound(0.06))).toBe('positive')
    expect(labelOf(scoresFromCompound(-0.06))).toBe('negative')
  })

  it('flags mixed posts and uncertain ones', () => {
    expect(scoreText('love the camera but the battery is terrible').mixed).toBe(true)
    expect(scoreText('love the camera and the screen is great').mixed).toBe(false)
    expect(scoreText('the phone is out today').uncertain).toBe(true)
    expect(scoreText('this is the best, most wonderful phone I have ever loved').uncertain).toBe(false)
    expect(normalisedEntropy({ negative: 1 / 3, neutral: 1 / 3, positive: 1 / 3 })).toBeCloseTo(1, 10)
  })
})

describe('intents', () => {
  it('finds questions, suggestions, complaints, praise, comparisons and support needs', () => {
    expect(detectIntents('does it support wireless charging?', 'neutral', false)).toEqual(['question'])
    expect(detectIntents('they should add a dark mode schedule', 'neutral', false)).toEqual(['suggestion'])
    expect(detectIntents('should I skip the update?', 'neutral', false)).toEqual(['question'])
    expect(detectIntents('my screen arrived broken, need a replacement', 'negative', false)).toEqual([
      'complaint',
      'support',
    ])
    expect(detectIntents('love it', 'positive', false)).toEqual(['praise'])
    expect(detectIntents('the Lumen camera is better than the Corvid one', 'positive', true)).toEqual([
      'praise',
      'comparison',
    ])
    expect(detectIntents('better than last year', 'positive', false)).toEqual(['praise'])
    // Without brand matching (the CLI), a comparison needs a cue naming two sides.
    expect(detectIntents('switched from my old Nokia, so much nicer', 'positive')).toEqual(['praise', 'comparison'])
    expect(detectIntents('better every day', 'positive')).toEqual(['praise'])
  })
})
