// ctx.memory(name, bytes): a core's named shared memory (FlowTable buffers).
// The worker keeps one SharedArrayBuffer per name, so every generation it
// loads gets the same one back, and posts each new one to the supervisor,
// which holds it for the core: a worker started in place of a dead one
// (supervisor.ts) is handed them back, so its tables re-attach.
// A quickjs context keeps its buffers in its own heap (quickjs-guest.ts):
// every generation gets them back, and a context restarted in its worker
// gets the lost one's contents back (quickjs-context.ts memoryContents).

/** Throws the one-line error for a bad ctx.memory request (both contexts). */
export function checkMemoryRequest(name: unknown, bytes: unknown): void {
  if (typeof name !== "string" || name === "") throw new Error("ctx.memory: give a name");
  if (!Number.isInteger(bytes) || (bytes as number) < 1 || (bytes as number) > 2 ** 32) throw new Error(`ctx.memory(${JSON.stringify(name)}): bytes must be 1..2^32, got ${bytes}`);
}

/** The worker's side. */
export class CoreMemory {
  private buffers = new Map<string, SharedArrayBuffer>();
  constructor(private core: number, private post: (m: VnfMemoryMessage) => void) {}

  get(name: string, bytes: number): SharedArrayBuffer {
    checkMemoryRequest(name, bytes);
    let b = this.buffers.get(name);
    if (b && b.byteLength >= bytes) return b;
    // Larger than before (a new version's bigger table): a fresh buffer.
    b = new SharedArrayBuffer(bytes);
    this.buffers.set(name, b);
    this.post({ type: "vnf-memory", core: this.core, name, buffer: b });
    return b;
  }

  /** Memory a restarted core is given back (the supervisor's held buffers). */
  adopt(name: string, buffer: SharedArrayBuffer): void { this.buffers.set(name, buffer); }
}

/** The supervisor's side: each core's buffers (core -> name -> buffer), held
 *  so a restarted core can be handed its tables back. */
export class HeldMemory {
  readonly cores = new Map<number, Map<string, SharedArrayBuffer>>();
  hold(m: VnfMemoryMessage): void {
    if (!this.cores.has(m.core)) this.cores.set(m.core, new Map());
    this.cores.get(m.core)!.set(m.name, m.buffer);
  }
  heldBy(core: number): { name: string; buffer: SharedArrayBuffer }[] {
    return [...(this.cores.get(core) ?? new Map<string, SharedArrayBuffer>())].map(([name, buffer]) => ({ name, buffer }));
  }
}

export interface VnfMemoryMessage { type: "vnf-memory"; core: number; name: string; buffer: SharedArrayBuffer }
