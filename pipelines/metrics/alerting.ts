// An alert's life, per brand, driven by one risk reading a minute (risk.ts):
// - raised (open) when the score reaches a level: warning, or critical;
// - acknowledged by a person (state 'acknowledged'): it goes on escalating and resolving as before;
// - escalated (same alert, now critical) when a warning's score reaches the critical level;
// - resolved once the score has stayed below the warning level less HYSTERESIS for CALM_MINUTES;
// - after that, COOLDOWN_MINUTES pass before another warning (a critical level still alerts).
// Hysteresis and cooldown keep a score that wavers around a level from flapping the war room.
import { MINUTE_MS } from '../time.ts'
import type { Alert, RiskPart, RiskReading, Severity } from '../schema.ts'
import { LEVELS, RISK_WEIGHTS } from '../vocabulary.ts'

export const HYSTERESIS = 15
export const CALM_MINUTES = 5
export const COOLDOWN_MINUTES = 30

/** The evidence an alert carries besides its score: what the burst is about, and examples. */
export interface Evidence {
  terms: string[]
  examplePostIds: string[]
}

/** `acknowledged`: this update is a person's acknowledgement, not a new reading. */
export type AlertChange = { kind: 'raised' | 'updated'; alert: Alert; acknowledged?: true }

const levelOf = (score: number): Severity | null =>
  score >= LEVELS.critical ? 'critical' : score >= LEVELS.warning ? 'warning' : null

export class AlertLifecycle {
  private open: Alert | null = null
  private calm = 0
  private resolvedAt = Number.NEGATIVE_INFINITY

  constructor(private readonly brand: string) {}

  /** After a restart: the alert that was still open goes on (and resolves, in time) as if never stopped. */
  resume(alert: Alert): void {
    if (alert.state !== 'resolved' && !this.open) this.open = alert
  }

  /** A person has seen the open alert with this id: it is acknowledged (null if no open alert has it). */
  acknowledge(id: string): AlertChange | null {
    if (this.open?.id !== id || this.open.state !== 'open') return null
    this.open = { ...this.open, state: 'acknowledged' }
    return { kind: 'updated', alert: this.open, acknowledged: true }
  }

  /** The alert that changed with this reading, if one did; `evidence` is asked only then. */
  step(reading: RiskReading, evidence: () => Evidence): AlertChange | null {
    const level = levelOf(reading.score)
    const now = Date.parse(reading.minute) + MINUTE_MS
    if (!this.open) {
      if (!level || reading.warming) return null
      if (level === 'warning' && now - this.resolvedAt < COOLDOWN_MINUTES * MINUTE_MS) return null
      this.calm = 0
      this.open = this.describe(
        { id: `${this.brand}:${reading.minute}`, at: new Date(now).toISOString(), severity: level, state: 'open' },
        reading,
        evidence(),
      )
      return { kind: 'raised', alert: this.open }
    }
    if (level === 'critical' && this.open.severity !== 'critical') {
      this.calm = 0
      this.open = this.describe({ ...this.open, severity: 'critical' }, reading, evidence())
      return { kind: 'updated', alert: this.open }
    }
    this.calm = reading.score < LEVELS.warning - HYSTERESIS ? this.calm + 1 : 0
    if (this.calm < CALM_MINUTES) return null
    const resolved: Alert = {
      ...this.open,
      state: 'resolved',
      why: { ...this.open.why, score: reading.score, parts: reading.parts },
    }
    this.open = null
    this.resolvedAt = now
    return { kind: 'updated', alert: resolved }
  }

  private describe(
    base: Pick<Alert, 'id' | 'at' | 'severity' | 'state'>,
    reading: RiskReading,
    evidence: Evidence,
  ): Alert {
    const top = [...reading.parts].filter((p) => p.score > 0).sort((a, b) => weighted(b) - weighted(a))
    const about = evidence.terms.length > 0 ? ` about "${evidence.terms.slice(0, 3).join('", "')}"` : ''
    return {
      ...base,
      brand: this.brand,
      title: `${base.severity === 'critical' ? 'Backlash' : 'Possible backlash'}${about}: risk ${Math.round(reading.score)} for ${this.brand}`,
      why: {
        summary: top.map((p) => p.detail).join('; ') || 'no part stands out',
        terms: evidence.terms,
        examplePostIds: evidence.examplePostIds,
        score: reading.score,
        parts: reading.parts,
      },
    }
  }
}

const weighted = (p: RiskPart) => p.score * RISK_WEIGHTS[p.name]
