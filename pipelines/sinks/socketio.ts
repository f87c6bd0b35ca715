// The live sink: pushes changed windows, metrics and new posts to every connected wall, and remembers the
// recent ones (bounded) so a wall that connects gets them in its snapshot.
import type { AlertChange } from '../metrics/alerting.ts'
import type {
  Alert,
  BrandMetrics,
  Dialogue,
  Responsiveness,
  RiskReading,
  ScoredPost,
  ServerToClientEvents,
  WindowAggregate,
} from '../schema.ts'
import { EVENTS } from '../schema.ts'

/** Posts kept for the ticker of a newly connected wall. */
export const RECENT_POSTS = 50
/** Alerts (their latest states) kept for snapshots. */
export const RECENT_ALERTS = 50
/** Per-brand minutes of live windows kept for snapshots. */
export const LIVE_MINUTES = 60

/** The part of a socket.io Server this sink uses (io.emit broadcasts to every client, io.to a room). */
export interface Broadcaster {
  emit<E extends keyof ServerToClientEvents>(event: E, ...args: Parameters<ServerToClientEvents[E]>): boolean
  to(room: string): {
    emit<E extends keyof ServerToClientEvents>(event: E, ...args: Parameters<ServerToClientEvents[E]>): boolean
  }
}

/** The socket.io room of a team's feed; a client joins it with `?team=<name>` on connect. */
export const teamRoom = (team: string) => `team:${team}`

/** What has been pushed live lately, for snapshots. Shared by the sink and the server. */
export class LiveView {
  private readonly windows = new Map<string, WindowAggregate>()
  private posts: ScoredPost[] = []
  private readonly metrics = new Map<string, BrandMetrics>()
  private readonly risk = new Map<string, RiskReading>()
  private readonly responsiveness = new Map<string, Responsiveness>()
  private readonly dialogue = new Map<string, Dialogue>()
  private readonly alerts = new Map<string, Alert>()
  private newestMinute = 0
  private newestPost = 0

  applyWindows(windows: readonly WindowAggregate[]): void {
    for (const w of windows) {
      this.windows.set(`${w.brand}|${w.minute}`, w)
      this.newestMinute = Math.max(this.newestMinute, Date.parse(w.minute))
    }
    // The same LIVE_MINUTES minutes as the store's `lastMinutes` query: newest - N < minute <= newest.
    const oldest = this.newestMinute - LIVE_MINUTES * 60_000
    for (const [key, w] of this.windows) if (Date.parse(w.minute) <= oldest) this.windows.delete(key)
  }

  addPosts(posts: readonly ScoredPost[]): void {
    this.posts = [...posts.slice(-RECENT_POSTS).reverse(), ...this.posts].slice(0, RECENT_POSTS)
    for (const p of posts) this.newestPost = Math.max(this.newestPost, Date.parse(p.createdAt))
  }

  applyMetrics(metrics: readonly BrandMetrics[]): void {
    for (const m of metrics) this.metrics.set(`${m.brand}\u0000${m.source}\u0000${m.window}`, m)
  }

  /** The newest figures of every brand x source x window. */
  currentMetrics(): BrandMetrics[] {
    return [...this.metrics.values()]
  }

  applyRisk(readings: readonly RiskReading[]): void {
    for (const r of readings) this.risk.set(r.brand, r)
  }

  /** Each brand's latest risk reading. */
  currentRisk(): RiskReading[] {
    return [...this.risk.values()]
  }

  applyResponsiveness(brands: readonly Responsiveness[]): void {
    for (const r of brands) this.responsiveness.set(r.brand, r)
  }

  currentResponsiveness(): Responsiveness[] {
    return [...this.responsiveness.values()]
  }

  applyDialogue(brands: readonly Dialogue[]): void {
    for (const d of brands) this.dialogue.set(d.brand, d)
  }

  currentDialogue(): Dialogue[] {
    return [...this.dialogue.values()]
  }

  applyAlert(alert: Alert): void {
    this.alerts.delete(alert.id)
    this.alerts.set(alert.id, alert)
    // Only resolved ones are let go: an alert still open (at most one a brand) stays in every snapshot.
    for (const [id, a] of this.alerts) {
      if (this.alerts.size <= RECENT_ALERTS) break
      if (a.state === 'resolved') this.alerts.delete(id)
    }
  }

  /** The latest state of the alerts raised lately, newest change last. */
  recentAlerts(): Alert[] {
    return [...this.alerts.values()]
  }

  /** createdAt of the newest post pushed, or null before the first. */
  watermark(): string | null {
    return this.newestPost > 0 ? new Date(this.newestPost).toISOString() : null
  }

  recentWindows(): WindowAggregate[] {
    return [...this.windows.values()]
  }

  /** Newest first. */
  recentPosts(): ScoredPost[] {
    return [...this.posts]
  }
}

export class SocketIoSink {
  constructor(
    private readonly io: Broadcaster,
    readonly view: LiveView,
  ) {}

  pushWindows(windows: WindowAggregate[]): void {
    this.view.applyWindows(windows)
    this.io.emit(EVENTS.aggregatesUpdated, windows)
  }

  pushPosts(posts: ScoredPost[]): void {
    this.view.addPosts(posts)
    this.io.emit(EVENTS.postsAdded, posts)
  }

  pushRisk(readings: RiskReading[]): void {
    this.view.applyRisk(readings)
    this.io.emit(EVENTS.riskUpdated, readings)
  }

  pushResponsiveness(brands: Responsiveness[]): void {
    this.view.applyResponsiveness(brands)
    this.io.emit(EVENTS.responsivenessUpdated, brands)
  }

  /** To the team's room only: the walls and feeds that asked for it. */
  pushTeamPosts(team: string, posts: ScoredPost[]): void {
    this.io.to(teamRoom(team)).emit(EVENTS.teamPosts, { team, posts })
  }

  pushDialogue(brands: Dialogue[]): void {
    this.view.applyDialogue(brands)
    this.io.emit(EVENTS.dialogueUpdated, brands)
  }

  pushAlert(change: AlertChange): void {
    this.view.applyAlert(change.alert)
    this.io.emit(change.kind === 'raised' ? EVENTS.alertRaised : EVENTS.alertUpdated, change.alert)
  }

  pushMetrics(metrics: BrandMetrics[]): void {
    this.view.applyMetrics(metrics)
    this.io.emit(EVENTS.metricsUpdated, metrics)
  }
}
