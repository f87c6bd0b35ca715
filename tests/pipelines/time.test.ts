import { describe, expect, it } from 'vitest'
import { MINUTE_MS, minuteOfIso, minuteStartMs, minuteStartS } from '../../pipelines/time.ts'

describe('time', () => {
  it('gives the start of the minute a time falls in, before 1970 too', () => {
    expect(minuteOfIso('2026-11-30T08:15:59.999Z')).toBe(Date.parse('2026-11-30T08:15:00.000Z'))
    expect(minuteOfIso('2026-11-30T08:15:00.000Z')).toBe(Date.parse('2026-11-30T08:15:00.000Z'))
    expect(minuteStartMs(-1)).toBe(-MINUTE_MS)
    expect(minuteStartS(Date.parse('2026-11-30T08:15:42.000Z'))).toBe(Date.parse('2026-11-30T08:15:00.000Z') / 1000)
  })
})
