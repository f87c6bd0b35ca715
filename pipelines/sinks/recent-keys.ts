// The keys a sink accepted lately: a bounded set that forgets the oldest first, so a replayed
// item is caught before the store is asked, in constant memory.
export class RecentKeys {
  private readonly keys = new Set<string>()
  constructor(private readonly capacity: number) {}

  has(key: string): boolean {
    return this.keys.has(key)
  }

  add(key: string): void {
    this.keys.add(key)
    if (this.keys.size > this.capacity) this.keys.delete(this.keys.values().next().value!)
  }

  delete(key: string): void {
    this.keys.delete(key)
  }
}
