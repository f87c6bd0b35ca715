// The multi-task middle model as the pipeline's classifier: the shipped default, its cues deciding
// questions, suggestions and comparisons, and nothing of the cues left in what is stored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EMOTION_THRESHOLD, emotionsOf, isMiddleModel, MiddleClassifier } from '../../models/middle-classifier.ts'
import { detectIntents } from '../../models/middle.ts'
import { MIDDLE_MODEL } from '../../models/middle-model.ts'
import { modelPath } from '../../models/load.ts'
import { DEFAULT_MODEL } from '../../models/transformers.ts'
import { Compile } from 'typebox/compile'
import { ScoredPost } from '../../pipelines/schema.ts'
import { scoreOne } from '../../pipelines/transforms/classify.ts'
import { postsOf, simulated } from '../support/fixtures.ts'

let classifier: MiddleClassifier
beforeAll(async () => {
  classifier = await MiddleClassifier.load(MIDDLE_MODEL)
})
afterAll(() => classifier.close())

describe('the middle classifier', () => {
  it('is the default, and is told from a sentiment-only model by its config', () => {
    expect(modelPath(undefined)).toBe(MIDDLE_MODEL)
    expect(modelPath('')).toBe(MIDDLE_MODEL)
    expect(isMiddleModel(MIDDLE_MODEL)).toBe(true)
    expect(isMiddleModel(DEFAULT_MODEL)).toBe(false)
    expect(isMiddleModel('/nonexistent')).toBe(false)
  })

  it('reads suggestions the rules miss, questions, and the sentiment, with calibrated probabilities', async () => {
    const texts = [
      'you should try the lobster',
      'pls bring back the old layout',
      'how do I turn off autoupdate?',
      'this is the worst support ever, refund please',
      'great launch, congrats team!',
    ]
    const [lobster, layout, question, angry, happy] = await classifier.classify(texts)
    expect(lobster!.cues?.suggestion).toBe(true)
    expect(layout!.cues?.suggestion).toBe(true)
    expect(question!.cues?.question).toBe(true)
    expect(question!.cues?.suggestion).toBe(false)
    expect(angry!.label).toBe('negative')
    expect(happy!.label).toBe('positive')
    for (const r of [lobster, layout, question, angry, happy]) {
      const { negative, neutral, positive } = r!.scores
      expect(negative + neutral + positive).toBeCloseTo(1, 4)
      expect(r!.confidence).toBe(r!.scores[r!.label])
    }
    // The rules alone find none of the two suggestions.
    expect(detectIntents(texts[0]!, 'neutral')).not.toContain('suggestion')
    expect(detectIntents(texts[1]!, 'neutral')).not.toContain('suggestion')
  })

  it('lets the cues decide questions, suggestions and comparisons, and keeps what is stored to the schema', async () => {
    const none = { suggestion: false, question: false, comparison: false }
    expect(detectIntents('why is it broken?', 'negative', false, none)).toEqual(['complaint', 'support'])
    expect(detectIntents('fine.', 'positive', false, { ...none, question: true })).toEqual(['question'])
    expect(detectIntents('fine.', 'neutral', false, { ...none, comparison: true })).toEqual(['comparison'])
    // A second tracked brand named with a comparative word stays a comparison.
    expect(detectIntents('Lumen is better than Nimbus', 'positive', true, none)).toEqual(['praise', 'comparison'])
    const [result] = await classifier.classify(['you should add a dark mode'])
    const scored = scoreOne({ ...postsOf(simulated(600))[0]!, text: 'you should add a dark mode' }, result!, 'en')
    expect(scored.sentiment!.intents).toContain('suggestion')
    expect(Compile(ScoredPost).Check(scored)).toBe(true)
    expect(scored.sentiment).not.toHaveProperty('cues')
  })

  it('reads emotions where a post expresses some, strongest first, and none in a plain statement', async () => {
    const texts = [
      'I am so angry, they cancelled my order again and nobody answers',
      'so happy with my new phone, it is wonderful',
      'I miss my old phone so much, this is heartbreaking',
      'The store opens at 9am on Monday.',
    ]
    const [angry, happy, sad, plain] = await classifier.classify(texts)
    expect(angry!.emotions?.[0]).toBe('anger')
    expect(happy!.emotions?.[0]).toBe('joy')
    expect(sad!.emotions?.[0]).toBe('sadness')
    expect(plain!.emotions).toEqual([])
    // Stored with the post, to the schema; a classifier that reads none gives an empty list.
    const post = postsOf(simulated(600))[0]!
    expect(Compile(ScoredPost).Check(scoreOne({ ...post, text: texts[0]! }, angry!, 'en'))).toBe(true)
    const { emotions: _, ...withoutEmotions } = angry!
    expect(scoreOne(post, withoutEmotions, 'en').sentiment!.emotions).toEqual([])
  })

  it('gates each emotion on the chance that the post expresses one at all', () => {
    const emotion = { anger: 0.6, joy: 0.05, optimism: 0.05, sadness: 0.3 }
    // Clearly negative: anger passes, sadness (0.9 x 0.3 = 0.27) does not.
    expect(emotionsOf(emotion, { negative: 0.9, neutral: 0.05, positive: 0.05 })).toEqual(['anger'])
    expect(
      emotionsOf({ ...emotion, sadness: 0.45, anger: 0.45 }, { negative: 0.95, neutral: 0.0, positive: 0.05 }),
    ).toEqual(['anger', 'sadness'])
    // Mostly neutral: the same emotion scores give none.
    expect(emotionsOf(emotion, { negative: 0.3, neutral: 0.6, positive: 0.1 })).toEqual([])
    expect(0.4 * 0.6).toBeLessThan(EMOTION_THRESHOLD)
  })
})
