// Seeded randomness for the simulator: one generator, drawn in a fixed order, so a seed always
// yields the same launch day. pure-rand supplies the generator and the uniform draw.
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64'
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'

export class Random {
  private readonly rng

  constructor(seed: number) {
    this.rng = xoroshiro128plus(seed)
  }

  /** Uniform in [0, 1). */
  next(): number {
    return uniformFloat64(this.rng)
  }

  chance(p: number): boolean {
    return this.next() < p
  }

  int(from: number, to: number): number {
    return from + Math.floor(this.next() * (to - from + 1))
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Random.pick: no items to pick from')
    return items[Math.floor(this.next() * items.length)] as T
  }

  /** Picks a key of `weights` with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][]
    const total = entries.reduce((sum, [, w]) => sum + w, 0)
    let u = this.next() * total
    for (const [key, w] of entries) {
      u -= w
      if (u < 0) return key
    }
    return entries[entries.length - 1]![0]
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next())
  }

  /** Log-normal with the given median and log-space spread. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal())
  }

  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next())
  }

  /** Poisson count; Knuth's method is exact and fast for the small means of a one-second tick. */
  poisson(mean: number): number {
    if (mean <= 0) return 0
    if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()))
    const limit = Math.exp(-mean)
    let k = 0
    let p = this.next()
    while (p > limit) {
      k++
      p *= this.next()
    }
    return k
  }
}
