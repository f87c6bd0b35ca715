// The multi-task middle model, loaded from the shipped folder through onnxruntime-node. Texts here
// are written for these tests (never taken from the training data).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_MODEL } from '../../models/transformers.ts'
import { EMOTIONS, FLAGS, MIDDLE_MODEL, MiddleModel } from '../../models/middle-model.ts'

const texts = [
  'honestly the new app layout is lovely, well done team',
  'third time this week the checkout crashed on me, furious',
  'does anyone know when the store on main street opens?',
  'you should add a way to export my playlists',
  'the old model was faster than this one',
  'great screen but the battery is a letdown',
  'ok',
  '',
]

let model: MiddleModel
beforeAll(async () => {
  model = await MiddleModel.load(MIDDLE_MODEL)
})
afterAll(async () => {
  await model.close()
})

describe('the multi-task middle model', () => {
  it('loads from the repo folder with a threshold in (0, 1) for every flag', () => {
    expect(model.name).toBe('middle:middle')
    for (const flag of FLAGS) {
      expect(model.thresholds[flag]).toBeGreaterThan(0)
      expect(model.thresholds[flag]).toBeLessThan(1)
    }
  })

  it('gives every post three sentiment and four emotion probabilities summing to 1, and a probability per flag', async () => {
    const results = await model.score(texts)
    expect(results).toHaveLength(texts.length)
    for (const r of results) {
      expect(Object.keys(r.sentiment).sort()).toEqual(['negative', 'neutral', 'positive'])
      expect(r.sentiment.negative + r.sentiment.neutral + r.sentiment.positive).toBeCloseTo(1, 5)
      expect(Object.keys(r.emotion)).toEqual([...EMOTIONS])
      expect(EMOTIONS.reduce((s, e) => s + r.emotion[e], 0)).toBeCloseTo(1, 5)
      for (const flag of FLAGS) {
        expect(r.probabilities[flag]).toBeGreaterThanOrEqual(0)
        expect(r.probabilities[flag]).toBeLessThanOrEqual(1)
        expect(r.flags[flag]).toBe(r.probabilities[flag] >= model.thresholds[flag])
      }
    }
    // the flags are not constant: these posts were written to differ
    for (const flag of ['question', 'suggestion'] as const)
      expect(new Set(results.map((r) => r.flags[flag])).size).toBe(2)
    expect(await model.score([])).toEqual([])
  })

  it('gets clear cases right', async () => {
    const [praise, anger, question, suggestion, comparison] = await model.score(texts.slice(0, 5))
    const top = (scores: Record<string, number>) => Object.entries(scores).sort((a, b) => b[1] - a[1])[0]![0]
    expect([praise, anger].map((r) => top(r!.sentiment))).toEqual(['positive', 'negative'])
    expect([praise, anger].map((r) => top(r!.emotion))).toEqual(['joy', 'anger'])
    expect(question!.flags).toMatchObject({ question: true, suggestion: false })
    expect(suggestion!.flags).toMatchObject({ suggestion: true, question: false })
    expect(comparison!.flags.comparison).toBe(true)
    expect(praise!.flags).toEqual({ suggestion: false, question: false, comparison: false, mixed: false })
  })

  it('scores a post the same alone as in a batch padded for a longer one', async () => {
    const long = `${'this sentence keeps going and going '.repeat(12)}until the end`
    const [alone] = await model.score([texts[1]!])
    const [batched] = await model.score([texts[1]!, long])
    expect(batched!.sentiment.negative).toBeCloseTo(alone!.sentiment.negative, 5)
    expect(batched!.emotion.anger).toBeCloseTo(alone!.emotion.anger, 5)
    for (const flag of FLAGS) expect(batched!.probabilities[flag]).toBeCloseTo(alone!.probabilities[flag], 5)
  })

  it('refuses a folder whose model lacks the task outputs', async () => {
    await expect(MiddleModel.load(DEFAULT_MODEL)).rejects.toThrow(
      'the model lacks the outputs sentiment, emotion, suggestion, question, comparison, mixed',
    )
  })
})
