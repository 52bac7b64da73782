// The code a QuickJS context runs before any bundle: it keeps the host's few
// functions in a closure the VNF cannot reach, removes what could detach the
// batch buffer, and loads, starts and runs the bundle's generations. It is
// turned into source with toString(), so it refers to nothing outside itself.
// The host (quickjs-context.ts) finds each buffer the guest shares with it
// in the WASM heap by a marker (see locate): QuickJS never moves an
// ArrayBuffer's bytes, so the address holds for the buffer's life.
/* eslint-disable @typescript-eslint/no-explicit-any */

/** What the host gives the driver: log, and the marker protocol. */
export interface GuestHost {
  log(text: string): void;
  seed(): number;                            // a fresh marker seed
  found(): void;                             // the marker is written: find it
  counters(namesJson: string): void;         // checks names; the next found() is their array
  histogram(name: string, boundsJson: string): void;   // the same for a histogram's values
  memory(name: string, bytes: number): void;   // checks a ctx.memory request (throws its error)
  udpBound(port: number, bound: number): void; // a UDP port bound (1) or let go (0) on this core
  tuples(): void;                            // the next found() is the batch.tuples() buffer
  memoryMade(name: string, bytes: number): void;   // the next found() is this ctx.memory buffer
}

/** Where the arrays sit in the batch buffer (native GuestLayout) and how many packets a batch holds. */
export interface GuestLayoutInfo {
  offsets: number; lengths: number; inPorts: number; verdicts: number; flags: number; meta: number; fresh: number; ctl: number;
  tickets: number; releases: number; keepFree: number; bytes: number; maxBatch: number; maxFresh: number; maxReleases: number;
}

export function guestDriver(host: GuestHost, L: GuestLayoutInfo): unknown {
  "use strict";
  delete (globalThis as any).__vnfrun_host;
  delete (globalThis as any).__vnfrun_layout;
  // A VNF must not detach or resize the buffer the host copies batches into.
  const abProto = ArrayBuffer.prototype as any;
  for (const k of ["transfer", "transferToFixedLength", "resize"]) delete abProto[k];
  const sharedProto = (globalThis as any).SharedArrayBuffer?.prototype;
  if (sharedProto) delete sharedProto.grow;

  const B = L.maxBatch + L.maxFresh;   // entries: received, then originated (native/core.h)
  let mem: ArrayBuffer;
  let cap = 0;
  let meta: Float64Array;
  const gens = new Map<number, any>();
  let live: any;
  let prevLive: any;
  const counterSets = new Map<string, Float64Array>();
  const histograms = new Map<string, any>();
  const memories = new Map<string, SharedArrayBuffer>();
  // batch.tuples(): one buffer for every generation, which the host fills
  // before process() once a VNF has asked (sdk/tuples.ts: the state words
  // TUPLES_FILLED = 0, TUPLES_WANTED = 1).
  let tuplesMem: ArrayBuffer | undefined;
  let tuplesState: Int32Array | undefined;
  // ctx.udpBound: the SDK's sockets write a port's byte when they bind or
  // close (rare); each write also goes to the host's array, which the
  // runtime reads to answer datagrams to closed ports.
  const udpBound = new Proxy(new Uint8Array(65536), {
    set(t, k, v) {
      const port = Number(k);
      t[port] = v;
      host.udpBound(port, t[port]);
      return true;
    },
  });

  // The marker: 32 bytes from a xorshift of the host's seed, so the pattern
  // exists only in this buffer, never as a literal in the heap.
  function locate(ab: ArrayBuffer): void {
    const m = new Uint8Array(ab, 0, 32);
    let x = host.seed() | 0;
    for (let i = 0; i < 32; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; m[i] = x & 255; }
    host.found();   // the host zeroes the marker
  }
  function tuplesOf(g: any): any {
    const T = g.mod.Tuples;
    if (typeof T !== "function") return undefined;
    if (!tuplesMem) {
      host.tuples();
      tuplesMem = new ArrayBuffer(Math.max(64, T.bytes(L.maxBatch)));
      locate(tuplesMem);
      tuplesState = new Int32Array(tuplesMem, 0, 2);
    }
    return new T(L.maxBatch, tuplesMem, 0);
  }
  function batchOf(g: any): any {
    const b = new g.mod.Batch(new Uint8Array(mem, L.bytes, cap), new Uint32Array(mem, L.offsets, B), new Uint32Array(mem, L.lengths, B),
      new Uint8Array(mem, L.inPorts, B), new Uint8Array(mem, L.verdicts, B), g.ports, new Uint8Array(mem, L.flags, B),
      new Uint32Array(mem, L.fresh, L.maxFresh), new Uint32Array(mem, L.ctl, 8), true,
      { tickets: new Uint32Array(mem, L.tickets, B), releases: new Uint32Array(mem, L.releases, 2 * L.maxReleases), free: new Uint32Array(mem, L.keepFree, B) },
      tuplesOf(g));
    b.checksumOffload = true;   // flags come back with the verdicts (native/core_guest.cc)
    return b;
  }
  function alloc(capacity: number): void {
    mem = new ArrayBuffer(Math.max(L.bytes + capacity, 64));
    cap = capacity;
    meta = new Float64Array(mem, L.meta, 2);
    locate(mem);
    for (const g of gens.values()) g.batch = batchOf(g);
  }
  function counters(names: readonly string[]): Float64Array {
    host.counters(JSON.stringify(names));   // throws on bad names
    const key = names.join(",");
    let a = counterSets.get(key);
    if (!a) {
      const ab = new ArrayBuffer(Math.max(32, 8 * names.length));
      locate(ab);
      a = new Float64Array(ab, 0, names.length);
      counterSets.set(key, a);
    }
    return a;
  }
  // ctx.memory: one buffer per name in this context's heap, the same for
  // every generation loaded here (so a new version re-attaches its tables),
  // counted under --memory-limit. The host learns where each lies (32
  // bytes or more: the marker's room), and a context restarted in this
  // worker gets the lost one's bytes back in its buffer of the same name
  // and size; a new worker starts on fresh ones.
  function memory(name: string, bytes: number): SharedArrayBuffer {
    host.memory(name, bytes);   // throws on a bad name or size
    let b = memories.get(name);
    if (b && b.byteLength >= bytes) return b;
    b = new SharedArrayBuffer(bytes);   // larger than before: a fresh one, as in V8
    memories.set(name, b);
    if (bytes >= 32) {
      host.memoryMade(name, bytes);
      locate(b as unknown as ArrayBuffer);
    }
    return b;
  }
  function histogram(g: any, name: string, bounds: readonly number[]): any {
    host.histogram(String(name), JSON.stringify(bounds));   // throws on a bad name or bounds
    const key = `${name}(${bounds.join(",")})`;
    let values = histograms.get(key);
    if (!values) {
      const ab = new ArrayBuffer(Math.max(32, 8 * (bounds.length + 3)));
      locate(ab);
      values = new Float64Array(ab, 0, bounds.length + 3);
      histograms.set(key, values);
    }
    return new g.mod.Histogram(bounds, values);
  }
  function load(gen: number, fn: any, json: string): number {
    const o = JSON.parse(json);
    // Generations no one can go back to are let go (live, the one before, this one).
    for (const k of gens.keys()) if (gens.get(k) !== live && gens.get(k) !== prevLive) gens.delete(k);
    const module = { exports: {} as any };
    fn.call(undefined, module.exports, undefined, module, o.file, o.dir);
    const mod = module.exports, vnf = mod.default;
    if (!vnf || typeof vnf.process !== "function" || !Array.isArray(vnf.ports))
      throw new Error("the default export must be defineVnf({ ports, process, ... })");
    if (vnf.ports.join("\0") !== o.ports.join("\0"))
      throw new Error(`this version's ports (${vnf.ports.join(", ")}) differ from the running ones (${o.ports.join(", ")}): ports are fixed while running; restart to change them`);
    const g: any = { gen, mod, vnf, ports: o.ports, state: undefined, fresh: undefined };
    g.batch = batchOf(g);
    g.ctx = {
      core: o.core, cores: o.cores, ports: o.ports, config: o.config, rss: o.rss, addresses: o.addresses, tcpMemory: o.tcpMemory,
      udpBound,
      memory,
      port: (name: string) => g.batch.port(name),
      log: (...a: unknown[]) => host.log(a.map(String).join(" ")),
      counters,
      histogram: (name: string, bounds: readonly number[]) => histogram(g, name, bounds),
    };
    gens.set(gen, g);
    // Bit 0: it has migrate; bit 1: it originates (process() on empty cycles too).
    return (typeof vnf.migrate === "function" ? 1 : 0) | (vnf.originates === true ? 2 : 0);
  }
  function fresh(gen: number): void {
    const g = gens.get(gen);
    if (!g.fresh) g.fresh = { state: g.vnf.init ? g.vnf.init(g.ctx) : undefined };
  }
  function start(gen: number, prev: number): number {
    fresh(gen);
    const g = gens.get(gen), p = gens.get(prev);
    const migrated = !!(p && typeof g.vnf.migrate === "function");
    // The same runtime holds both versions: migrate gets the old state itself.
    g.state = migrated ? g.vnf.migrate(p.state, g.ctx, g.fresh.state) : g.fresh.state;
    return migrated ? 1 : 0;
  }
  function setLive(gen: number): void {
    const g = gens.get(gen);
    if (g !== live) { prevLive = live; live = g; }
    if (tuplesState) tuplesState[1] = 0;   // the host fills tuples again once this version asks
  }
  // --reload-diff: generation `gen` on its own fresh init() state over
  // copies of recent frames (the V8 context's trial, v8-context.ts). In:
  // the frames end to end, their lengths, their in-ports. Out: the
  // verdicts, the lengths (u32) and the frames, in one buffer.
  function trial(gen: number, bytes: ArrayBuffer, lengths: ArrayBuffer, inPorts: ArrayBuffer): ArrayBuffer {
    const g = gens.get(gen), lens = new Uint32Array(lengths), all = new Uint8Array(bytes), n = lens.length;
    const frames: Uint8Array[] = [];
    for (let i = 0, o = 0; i < n; o += lens[i++]) frames.push(all.subarray(o, o + lens[i]));
    const b = g.mod.Batch.fromFrames(frames, g.ports);
    b.inPorts.set(new Uint8Array(inPorts));
    const quiet = { ...g.ctx, port: (name: string) => b.port(name), log: () => {}, counters: (names: readonly string[]) => new Float64Array(names.length),
      histogram: (_: string, bounds: readonly number[]) => new g.mod.Histogram(bounds) };
    try {
      g.vnf.process(b, g.vnf.init ? g.vnf.init(quiet) : undefined, quiet);
    } catch {
      b.verdicts.fill(0);   // a batch that throws is dropped whole, as live
    }
    let total = 0;
    for (let i = 0; i < n; i++) total += b.lengths[i];
    const head = n + (-n & 3);   // the lengths 4-aligned
    const out = new ArrayBuffer(head + 4 * n + total), ob = new Uint8Array(out), ol = new Uint32Array(out, head, n);
    ob.set(b.verdicts.subarray(0, n));
    for (let i = 0, o = head + 4 * n; i < n; o += ol[i++]) {
      ol[i] = b.lengths[i];
      ob.set(b.bytes.subarray(b.offsets[i], b.offsets[i] + b.lengths[i]), o);
    }
    return out;
  }
  function process(): void {
    const g = live, b = g.batch;
    b.count = meta[0];
    b.now = meta[1];
    b._tuplesFilled = tuplesState !== undefined && tuplesState[0] === 1;
    try {
      g.vnf.process(b, g.state, g.ctx);
    } finally {
      if (tuplesState) tuplesState[0] = 0;
    }
  }
  return { alloc, load, fresh, start, setLive, process, trial };
}
