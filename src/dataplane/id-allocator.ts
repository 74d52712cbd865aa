// Small integer ids (backend ids, service / reverse-NAT ids) handed out
// lowest-free-first so tables stay dense; restored from the maps on restart.

export class IdAllocator {
  private readonly used = new Set<number>();
  private nextFresh = 1;
  private readonly free: number[] = [];

  constructor(private readonly max = 0xffffffff) {}

  /** Marks an id found in the kernel maps as taken. */
  reserve(id: number): void {
    this.used.add(id);
    if (id >= this.nextFresh) {
      for (let i = this.nextFresh; i < id; i++) if (!this.used.has(i)) this.free.push(i);
      this.nextFresh = id + 1;
    }
  }

  allocate(): number {
    while (this.free.length) {
      const id = this.free.pop()!;
      if (!this.used.has(id)) {
        this.used.add(id);
        return id;
      }
    }
    if (this.nextFresh > this.max) throw new RangeError('id space exhausted');
    const id = this.nextFresh++;
    this.used.add(id);
    return id;
  }

  release(id: number): void {
    if (this.used.delete(id)) this.free.push(id);
  }

  get size(): number {
    return this.used.size;
  }
}
