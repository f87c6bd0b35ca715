// The shipped model, loaded offline from the repo through transformers.js. Texts here are written
// for these tests (never taken from the training data).
import { env } from '@huggingface/transformers'
import { beforeAll, describe, expect, it } from 'vitest'
import { emojiValence, withEmoji } from '../../models/emoji.ts'
import { isMixed, MIXED_PROBABILITY, normalisedEntropy, UNCERTAIN_ENTROPY } from '../../models/middle.ts'
import { DEFAULT_MODEL, prepare, TransformersClassifier } from '../../models/transformers.ts'
import { WorkerClassifier } from '../../models/worker.ts'
import { readHere } from '../../models/read.ts'
import { ReadLanguages } from '../../models/language.ts'
import vader from 'vader-sentiment'
import { mayHoldBothPolarities } from '../../models/vader-cue.ts'
import { postsOf, simulated } from '../support/fixtures.ts'
import { mixed, single } from './mixed-set.ts'

let model: TransformersClassifier
beforeAll(async () => {
  model = await TransformersClassifier.load(DEFAULT_MODEL)
})

const label = async (text: string) => (await model.classify([text]))[0]!

describe('the shipped sentiment model', () => {
  it('loads from the repo folder without reaching for the network', () => {
    expect(model.name).toBe('transformers.js:sentiment')
    expect(env.allowRemoteModels).toBe(false)
  })

  it('reports a mistyped folder as missing instead of asking the hub for it', async () => {
    env.allowRemoteModels = true
    await expect(TransformersClassifier.load('models/sentimnt')).rejects.toThrow(
      'SENTIMENT_MODEL="models/sentimnt": no such model folder',
    )
    await expect(TransformersClassifier.load('./nowhere')).rejects.toThrow('no such model folder')
    env.allowRemoteModels = false
  })

  it('gets clear cases right', async () => {
    const results = await model.classify([
      'I absolutely love this phone, best thing I have bought all year',
      'this update is a disaster, everything is broken and I hate it',
      'the shop opens at nine on monday',
      'so happy with the new camera, the photos look amazing',
      'terrible customer service, still waiting for a refund after a month',
    ])
    expect(results.map((r) => r.label)).toEqual(['positive', 'negative', 'neutral', 'positive', 'negative'])
  })

  it('returns three probabilities summing to 1, in input order, for any batch', async () => {
    const texts = Array.from({ length: 130 }, (_, i) => (i % 2 ? `great phone number ${i}` : `awful phone number ${i}`))
    const results = await model.classify(texts)
    expect(results).toHaveLength(130)
    for (const r of results) {
      expect(r.scores.negative + r.scores.neutral + r.scores.positive).toBeCloseTo(1, 5)
      expect(r.confidence).toBe(r.scores[r.label])
      expect(r.uncertain).toBe(normalisedEntropy(r.scores) > UNCERTAIN_ENTROPY)
    }
    expect(results.filter((r, i) => r.label === (i % 2 ? 'positive' : 'negative')).length).toBeGreaterThan(110)
  })

  it('reads emojis, which the training tweets lacked', async () => {
    expect(emojiValence('got the new phone 😍')).toBeGreaterThan(0)
    expect(emojiValence('the update 😡😡')).toBeLessThan(0)
    expect((await label('got the new phone today 😍😍')).label).toBe('positive')
    expect((await label('got the new phone today 😡😡')).label).toBe('negative')
    const plain = await label('got the new phone today')
    const loved = await label('got the new phone today 😍')
    expect(loved.scores.positive).toBeGreaterThan(plain.scores.positive)
  })

  it('keeps a mixed post mixed whatever its emojis, and reads emojis of both signs as mixed', async () => {
    expect((await label('love the camera but the battery life is terrible 😍')).mixed).toBe(true)
    expect((await label('got the new phone today 😍 but the update 😡')).mixed).toBe(true)
    expect((await label('got the new phone today 😍😍')).mixed).toBe(false)
  })

  it('flags mixed posts on a hand-written set, and the lexicon cue measurably helps', async () => {
    const texts = [...mixed, ...single]
    const results = await model.classify(texts)
    const score = (predicted: boolean[]) => {
      const hits = predicted.filter((p, i) => p && i < mixed.length).length
      return { recall: hits / mixed.length, precision: hits / Math.max(1, predicted.filter(Boolean).length) }
    }
    const withLexicon = score(results.map((r) => r.mixed))
    const probabilitiesOnly = score(
      results.map((r) => Math.min(r.scores.positive, r.scores.negative) >= MIXED_PROBABILITY),
    )
    // Measured when the rule was set: 0.90 recall / 0.95 precision, against 0.70 / 0.93 without the lexicon.
    expect(withLexicon.recall).toBeGreaterThanOrEqual(0.85)
    expect(withLexicon.precision).toBeGreaterThanOrEqual(0.9)
    expect(withLexicon.recall).toBeGreaterThan(probabilitiesOnly.recall)
    expect(results[0]!.mixed).toBe(true) // 'love the camera but the battery life is terrible'
    expect(results[mixed.length]!.mixed).toBe(false) // 'love the camera and the screen is great'
  })

  it('tells uncertain from confidently neutral', async () => {
    const [neutral, unsure] = await model.classify(['the meeting moved to thursday', 'it is what it is'])
    expect(neutral!.label).toBe('neutral')
    expect(neutral!.uncertain).toBe(false)
    expect(unsure!.uncertain).toBe(true)
    expect(normalisedEntropy({ negative: 0.35, neutral: 0.3, positive: 0.35 })).toBeGreaterThan(UNCERTAIN_ENTROPY)
  })

  it('prepares mentions and links as training did', () => {
    expect(prepare('@lumen see https://x.y/z and email@example.org')).toBe('@user see http and email@example.org')
  })

  // (A hub id is not tried here: that would reach for the internet, which tests never do.)
  it('refuses a folder that holds no model, naming it', async () => {
    await expect(TransformersClassifier.load('tests/models')).rejects.toThrow(
      'SENTIMENT_MODEL="tests/models": cannot load it as a model folder',
    )
  })
})

describe('the model on its own thread, as the server runs it', () => {
  it('scores as the model does in this thread, batch for batch, and names a model that cannot load', async () => {
    const threaded = await WorkerClassifier.load(DEFAULT_MODEL)
    try {
      const texts = postsOf(simulated(10 * 60))
        .slice(0, 300)
        .map((p) => p.text)
      expect(threaded.name).toBe(model.name)
      const [there, here] = await Promise.all([threaded.classify(texts), model.classify(texts)])
      expect(there).toEqual(here)
      // Batches asked at once come back each to its caller.
      const halves = await Promise.all([threaded.classify(texts.slice(0, 150)), threaded.classify(texts.slice(150))])
      expect(halves.flat().map((r) => r.label)).toEqual(here.map((r) => r.label))
      expect(await threaded.classify([])).toEqual([])
    } finally {
      await threaded.close()
    }
    await expect(WorkerClassifier.load('tests/models')).rejects.toThrow(
      'SENTIMENT_MODEL="tests/models": cannot load it as a model folder',
    )
  })

  it('tells the languages on its thread, reading as this thread would, with the languages it is given', async () => {
    const threaded = await WorkerClassifier.load(DEFAULT_MODEL)
    try {
      const texts = [
        { text: 'Das neue Telefon ist furchtbar, der Akku hält keinen halben Tag durch', declared: 'en' },
        { text: 'the new phone is lovely and the battery lasts all day', declared: '' },
        { text: 'ok', declared: 'de-DE' },
      ]
      const there = await threaded.read(texts)
      expect(there).toEqual(await readHere(model, texts))
      expect(there.map((r) => [r.language, r.model !== undefined])).toEqual([
        ['de', false],
        ['en', true],
        ['de', true],
      ])
      threaded.languages = new ReadLanguages('en,de')
      expect((await threaded.read(texts)).every((r) => r.model !== undefined)).toBe(true)
      expect(await threaded.read([])).toEqual([])
    } finally {
      await threaded.close()
    }
  })

  it('fails the batch a dying thread held, with why, and starts a thread again for the next', async () => {
    const threaded = await WorkerClassifier.load(DEFAULT_MODEL)
    try {
      const texts = postsOf(simulated(10 * 60))
        .slice(0, 256)
        .map((p) => p.text)
      const held = threaded.classify(texts)
      // The thread dies as one killed by the system would (its worker terminated from outside).
      await (threaded as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate()
      await expect(held).rejects.toThrow(/the classifier's thread stopped/)
      expect(threaded.ready).toBe(false)
      expect((await threaded.classify(texts)).map((r) => r.label)).toEqual(
        (await model.classify(texts)).map((r) => r.label),
      )
      expect(threaded.ready).toBe(true)
    } finally {
      await threaded.close()
    }
  })
})

describe('middle rules', () => {
  it('mixed asks the lexicon only in the band where it decides', () => {
    let asked = 0
    const lexicon = () => (asked++, { pos: 0.3, neg: 0.3 })
    expect(isMixed({ negative: 0.4, neutral: 0.2, positive: 0.4 }, lexicon)).toBe(true)
    expect(isMixed({ negative: 0.01, neutral: 0.01, positive: 0.98 }, lexicon)).toBe(false)
    expect(asked).toBe(0)
    expect(isMixed({ negative: 0.1, neutral: 0.1, positive: 0.8 }, lexicon)).toBe(true)
    expect(asked).toBe(1)
  })

  it('emoji valence moves probability between negative and positive only', () => {
    const base = { negative: 0.3, neutral: 0.4, positive: 0.3 }
    const shifted = withEmoji(base, 3)
    expect(shifted.positive).toBeGreaterThan(base.positive)
    expect(shifted.negative).toBeLessThan(base.negative)
    expect(shifted.negative + shifted.neutral + shifted.positive).toBeCloseTo(1, 10)
    expect(withEmoji(base, 0)).toBe(base)
  })
})

describe('the VADER cue', () => {
  it('never skips a text in which VADER finds both polarities (so mixed is unchanged), and skips most others', () => {
    const texts = [
      ...mixed,
      ...single,
      ...postsOf(simulated(6 * 3600)).map((p) => p.text),
      "it's not bad",
      'good, not great',
      'no fun at all :(',
      'love the food, least helpful staff ever',
    ]
    let skipped = 0
    for (const text of texts) {
      const { pos, neg } = vader.SentimentIntensityAnalyzer.polarity_scores(text)
      if (pos >= 0.1 && neg >= 0.1) expect(mayHoldBothPolarities(text), text).toBe(true)
      if (!mayHoldBothPolarities(text)) skipped++
    }
    expect(skipped / texts.length).toBeGreaterThan(0.5)
  })
})
