// The CLI's stream contract, through the real command (bin/undertow.js) and in-process.
import { spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { classifyLines, MAX_LINE_CHARS } from '../../models/classify-lines.ts'
import { LexiconClassifier } from '../../models/lexicon.ts'
import { failingFirstBatch } from '../support/fixtures.ts'

const BIN = resolve(import.meta.dirname, '../../bin/undertow.js')

function runCli(
  input: string,
  env: Record<string, string> = {},
): Promise<{ code: number; out: string[]; err: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, 'classify'], { env: { ...process.env, ...env } })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('error', fail)
    child.on('close', (code) => done({ code: code ?? -1, out: out.split('\n').filter(Boolean), err }))
    child.stdin.end(input)
  })
}

describe('undertow classify', () => {
  it('answers every line in order, with an error object for each bad line', async () => {
    const lines = [
      'I love this phone',
      '{"id": 7, "text": "this update is terrible"}',
      '',
      '{"text": 5}',
      '{not json',
      'x'.repeat(MAX_LINE_CHARS + 1),
      'the store opens at nine',
      `${'so so good '.repeat(4_000)}`,
      '{"id": "a1", "text": "  "}',
      'Das neue Telefon ist wirklich schlecht, der Akku hält nicht lange',
    ]
    const { code, out } = await runCli(`${lines.join('\n')}\n`)
    expect(code).toBe(0)
    const results = out.map((l) => JSON.parse(l))
    expect(results).toHaveLength(lines.length)
    // Too short to tell its language: '' (no tag given), and scored.
    expect(results[0]).toMatchObject({
      label: 'positive',
      scores: { negative: expect.any(Number), neutral: expect.any(Number), positive: expect.any(Number) },
      mixed: false,
      uncertain: expect.any(Boolean),
      intents: ['praise'],
      emotions: ['joy'],
      language: '',
      scored: true,
    })
    expect(results[1]).toMatchObject({ id: 7, label: 'negative' })
    expect(results[2]).toEqual({ line: 3, error: 'empty line' })
    expect(results[3]).toEqual({ line: 4, error: 'JSON object has no string "text" field' })
    expect(results[8]).toEqual({ id: 'a1', line: 9, error: '"text" is empty' })
    expect(results[4]).toMatchObject({ line: 5, error: expect.stringContaining('invalid JSON') })
    expect(results[5]).toMatchObject({ line: 6, error: expect.stringContaining('limit') })
    expect(results[6]).toMatchObject({ label: 'neutral', emotions: [] })
    // A very long (but allowed) line is truncated by the tokenizer, not refused.
    expect(results[7]).toMatchObject({ label: expect.any(String), scores: expect.any(Object) })
    // Another language is read all the same; it says the server would leave it unscored.
    expect(results[9]).toMatchObject({ label: expect.any(String), language: 'de', scored: false })
  })

  it('streams: many lines in small batches, output in input order', async () => {
    const input = new PassThrough()
    const output = new PassThrough()
    let text = ''
    output.on('data', (d) => (text += d))
    const n = 5_000
    const done = classifyLines(input, output, new LexiconClassifier(), 64)
    for (let i = 0; i < n; i++) input.write(`{"id": ${i}, "text": "${i % 2 ? 'great' : 'awful'} phone"}\n`)
    input.end()
    await done
    const ids = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).id)
    expect(ids).toEqual(Array.from({ length: n }, (_, i) => i))
  })

  it('answers a batch the model fails on with error lines, and goes on with the next', async () => {
    const flaky = failingFirstBatch('out of memory')
    const input = new PassThrough()
    const output = new PassThrough()
    let text = ''
    output.on('data', (d) => (text += d))
    const done = classifyLines(input, output, flaky, 2)
    input.end('{"id": 1, "text": "great"}\nawful\ngreat\n')
    await done
    expect(
      text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { id: 1, line: 1, error: 'flaky failed: out of memory' },
      { line: 2, error: 'flaky failed: out of memory' },
      expect.objectContaining({ label: 'positive' }),
    ])
  })

  it('reads input only as fast as its output is taken (100,000 lines never held at once)', async () => {
    let produced = 0
    const input = Readable.from(
      (function* () {
        for (let i = 0; i < 100_000; i++) {
          produced++
          yield `post number ${i} is great\n`
        }
      })(),
    )
    const output = new PassThrough({ highWaterMark: 1024 })
    const done = classifyLines(input, output, new LexiconClassifier())
    await new Promise((r) => setTimeout(r, 500))
    expect(produced).toBeLessThan(10_000) // nobody reads the output: reading stalls
    let lines = 0
    output.on('data', (d: Buffer) => (lines += d.toString().split('\n').length - 1))
    await done
    expect(lines).toBe(100_000)
  })

  it('refuses a model folder it cannot load, with a clear message', async () => {
    const { code, err } = await runCli('hello\n', { SENTIMENT_MODEL: 'tests' })
    expect(code).toBe(1)
    expect(err).toContain('undertow: SENTIMENT_MODEL="tests": cannot load it as a model folder')
    expect(err).not.toContain('    at ')
  })
})
