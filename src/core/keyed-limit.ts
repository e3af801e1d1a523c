/**
 * Runs at most `perKey` tasks at once per key (e.g. per room), different keys independently;
 * the others wait their turn, first come first served.
 */
export class KeyedLimit {
  private readonly keys = new Map<string, { running: number; readonly waiting: (() => void)[] }>();

  constructor(private readonly perKey: number) {
    if (!(perKey >= 1)) throw new RangeError(`a keyed limit needs at least 1 task per key, not ${perKey}`);
  }

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    await this.acquire(key);
    try {
      return await task();
    } finally {
      this.release(key);
    }
  }

  /** Tasks of `key` running now. */
  running(key: string): number {
    return this.keys.get(key)?.running ?? 0;
  }

  private acquire(key: string): Promise<void> | undefined {
    let slot = this.keys.get(key);
    if (slot === undefined) {
      slot = { running: 0, waiting: [] };
      this.keys.set(key, slot);
    }
    if (slot.running < this.perKey) {
      slot.running += 1;
      return undefined;
    }
    const { waiting } = slot;
    // The slot passes straight to the first waiter: running stays as it is.
    return new Promise<void>((resolve) => waiting.push(resolve));
  }

  private release(key: string): void {
    const slot = this.keys.get(key);
    if (slot === undefined) return;
    const next = slot.waiting.shift();
    if (next !== undefined) {
      next();
      return;
    }
    slot.running -= 1;
    if (slot.running === 0) this.keys.delete(key);
  }
}
