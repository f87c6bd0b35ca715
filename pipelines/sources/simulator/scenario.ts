// "Launch day": the story the simulator tells, as numbers. Times are simulated seconds after the
// scenario's start; rates are posts per simulated minute. Tests read the onsets from here.

export interface Scenario {
  brand: string
  product: string
  competitors: [string, string]
  /** Wall-clock time of simulated second 0 (ISO 8601). */
  start: string
  /** When the product launches: mentions jump, then decay to a raised plateau. */
  launchAt: number
  /** When the backlash about `problem` begins: the onset the alerting issue must detect. */
  backlashAt: number
  problem: Problem
  /** Brand mentions per minute before the launch, at a diurnal factor of 1. */
  baselinePerMinute: number
  competitorPerMinute: number
  /** Multiplier on the baseline right after the launch, and what it settles to. */
  launchPeak: number
  launchPlateau: number
  launchHalfLifeMinutes: number
  /** Extra complaint posts per minute at the top of the backlash. */
  backlashPeakPerMinute: number
  backlashRampMinutes: number
  backlashHalfLifeMinutes: number
  /** Share of complaints and questions the brand answers, and how fast (log-normal minutes). */
  replyShare: number
  replyShareDuringBacklash: number
  replyMedianMinutes: number
  replySpread: number
  /** The brand's own posts (not replies) per hour, and the replies each draws on average. */
  broadcastsPerHour: number
  threadReplies: number
  authors: number
}

/** The one concrete problem the backlash is about, in the words people would use. */
export interface Problem {
  name: string
  symptoms: string[]
  trigger: string
}

export const BATTERY_DRAIN: Problem = {
  name: 'battery drain after the 2.1 update',
  symptoms: [
    'battery drains overnight',
    'battery dies by lunch',
    'phone gets hot and the battery tanks',
    'battery loses 40% an hour doing nothing',
    'battery percentage drops like a rock',
  ],
  trigger: 'the 2.1 update',
}

export function launchDay(options: { brand: string; competitors: [string, string]; start: string }): Scenario {
  return {
    brand: options.brand,
    product: `${options.brand} X2`,
    competitors: options.competitors,
    start: options.start,
    launchAt: 5 * 60,
    backlashAt: 25 * 60,
    problem: BATTERY_DRAIN,
    baselinePerMinute: 6,
    competitorPerMinute: 3,
    launchPeak: 7,
    launchPlateau: 2,
    launchHalfLifeMinutes: 20,
    backlashPeakPerMinute: 30,
    backlashRampMinutes: 8,
    backlashHalfLifeMinutes: 40,
    replyShare: 0.55,
    replyShareDuringBacklash: 0.3,
    replyMedianMinutes: 18,
    replySpread: 1.1,
    broadcastsPerHour: 2,
    threadReplies: 3,
    authors: 4000,
  }
}

/** Lower at night, higher in the afternoon (UTC hour of the simulated time), 0.5 to 1.3. */
export function diurnal(scenario: Scenario, t: number): number {
  const at = new Date(Date.parse(scenario.start) + t * 1000)
  const hour = at.getUTCHours() + at.getUTCMinutes() / 60
  return 0.9 + 0.4 * Math.sin((2 * Math.PI * (hour - 9)) / 24)
}

/** Brand mentions per minute at simulated second t, the backlash excluded. */
export function brandRate(scenario: Scenario, t: number): number {
  const base = scenario.baselinePerMinute * diurnal(scenario, t)
  if (t < scenario.launchAt) return base
  const since = t - scenario.launchAt
  const ramp = Math.min(1, since / 120)
  const decay = 0.5 ** (since / 60 / scenario.launchHalfLifeMinutes)
  return base * (1 + ramp * ((scenario.launchPeak - scenario.launchPlateau) * decay + scenario.launchPlateau - 1))
}

/** Backlash posts per minute at simulated second t: a ramp, then a slow decay. */
export function backlashRate(scenario: Scenario, t: number): number {
  if (t < scenario.backlashAt) return 0
  const since = (t - scenario.backlashAt) / 60
  if (since < scenario.backlashRampMinutes)
    return scenario.backlashPeakPerMinute * (since / scenario.backlashRampMinutes)
  return (
    scenario.backlashPeakPerMinute * 0.5 ** ((since - scenario.backlashRampMinutes) / scenario.backlashHalfLifeMinutes)
  )
}

export function competitorRate(scenario: Scenario, t: number): number {
  return scenario.competitorPerMinute * diurnal(scenario, t)
}

export function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '')
}

/** The brand's own accounts in the simulated network. */
export function brandHandles(scenario: Scenario): string[] {
  return [slug(scenario.brand), `${slug(scenario.brand)}support`]
}
