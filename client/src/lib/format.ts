// How figures read on the wall: short, fixed-width, in words a war room uses.
import type { RiskPart } from '../../../pipelines/schema.ts'

/** The backlash-risk parts, as people call them. */
export const PART_NAMES: Record<RiskPart['name'], string> = {
  spike: 'Volume spike',
  negativeShare: 'Negative share',
  reachNegativity: 'Reach of negativity',
  overdue: 'Unanswered, overdue',
}

const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 })

/** 1234 → "1.2K"; below ten thousand, the number itself. */
export const count = (n: number) => (Math.abs(n) < 10_000 ? String(Math.round(n)) : compact.format(n))

/** Ratios are null where they have no meaning (no posts, no reply): shown as a dash. */
type Maybe = number | null | undefined
const DASH = '—'

export const percent = (ratio: Maybe, digits = 0) => (ratio == null ? DASH : `${(ratio * 100).toFixed(digits)}%`)

/** Net sentiment and other -1..1 figures, always signed. */
export const signed = (n: Maybe, digits = 2) =>
  n == null ? DASH : (n > 0 ? '+' : n < 0 ? '−' : '') + Math.abs(n).toFixed(digits)

/** Seconds → "45 s", "12 min", "1 h 05 min", "2 d 3 h". */
export function duration(seconds: Maybe): string {
  if (seconds == null || !Number.isFinite(seconds)) return DASH
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} min`
  return `${Math.floor(h / 24)} d ${h % 24} h`
}

/** ISO time → "14:05" (UTC, as the server counts minutes). */
export const clock = (iso: string | number) => new Date(iso).toISOString().slice(11, 16)

/** ISO time → "2026-11-30 14:05 UTC". */
export const stamp = (iso: string | number) => `${new Date(iso).toISOString().slice(0, 16).replace('T', ' ')} UTC`

/** The change from `before` to `now`, as a relative figure where that means something. */
export interface Delta {
  text: string
  direction: 'up' | 'down' | 'flat'
}

export function change(now: Maybe, before: Maybe): Delta {
  if (now == null || before == null) return { text: 'no earlier figure', direction: 'flat' }
  if (before === 0 && now === 0) return { text: 'no change', direction: 'flat' }
  if (before === 0) return { text: 'new', direction: 'up' }
  const r = (now - before) / Math.abs(before)
  if (Math.abs(r) < 0.005) return { text: 'no change', direction: 'flat' }
  return {
    text: `${r > 0 ? '+' : '−'}${Math.abs(r * 100).toFixed(Math.abs(r) < 0.1 ? 1 : 0)}%`,
    direction: r > 0 ? 'up' : 'down',
  }
}

/** A change in points (for ratios and scores): "+3.1 pts". */
export function pointChange(now: Maybe, before: Maybe, scale = 100): Delta {
  if (now == null || before == null) return { text: 'no earlier figure', direction: 'flat' }
  const d = (now - before) * scale
  if (Math.abs(d) < 0.05) return { text: 'no change', direction: 'flat' }
  return { text: `${d > 0 ? '+' : '−'}${Math.abs(d).toFixed(1)} pts`, direction: d > 0 ? 'up' : 'down' }
}
