// --save-failed DIR: a batch whose process() threw is kept as a pcap, with a
// JSON beside it saying what threw where (the TS line), on which core and
// generation, and each packet's in-port; `vnfrun replay` runs it again.
// The batch is copied as it arrived, before process() (which may have
// rewritten it before throwing): a memcpy a packet, only with --save-failed.
// At most one batch a second per core, and a bounded number and size of
// files, so a VNF that throws on every batch cannot fill the disk.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { errorLocation, mappedStack } from "./errors";
import { pcapBytes } from "./harness/pcap-file";
import type { CoreView } from "./v8-context";

export interface SaveFailed {
  dir: string;
  vnf: string;         // the VNF's path, for the JSON (replay needs it)
  maxFiles: number;    // this core's share of the run's bound
  maxBytes: number;
}

/** What --save-failed keeps of a run's failed batches, in all. */
export const SAVE_LIMITS = { files: 100, bytes: 64 << 20, perSecond: 1 };

/** The JSON beside each saved pcap. */
export interface FailedBatchInfo {
  error: string;           // "Error: boom at Object.process (/src/fw.ts:31:11)"
  location: string | null; // "/src/fw.ts:31:11"
  stack: string;           // mapped to the TS sources
  core: number;
  generation: number;
  vnf: string;
  ports: string[];         // the VNF's ports, in index order
  inPorts: string[];       // per packet, the port it came in by
  packets: number;
  at: string;              // ISO time
}

export class FailedBatches {
  private copy = new Uint8Array(0);
  private lens = new Uint32Array(0);
  private ports = new Uint8Array(0);
  private n = 0;
  private files = 0;
  private bytes = 0;
  private last = -Infinity;
  private seq = 0;
  suppressed = 0;

  constructor(private cfg: SaveFailed, private view: CoreView) {
    mkdirSync(cfg.dir, { recursive: true });
  }

  /** Before process(): copy the batch as it arrived. */
  keep(count: number): void {
    const { pool, offsets, lengths, inPorts } = this.view;
    let total = 0;
    for (let i = 0; i < count; i++) total += lengths[i];
    if (this.copy.length < total) this.copy = new Uint8Array(Math.max(total, this.copy.length * 2));
    if (this.lens.length < count) { this.lens = new Uint32Array(count); this.ports = new Uint8Array(count); }
    for (let i = 0, at = 0; i < count; i++) {
      this.copy.set(pool.subarray(offsets[i], offsets[i] + lengths[i]), at);
      at += lengths[i];
      this.lens[i] = lengths[i];
      this.ports[i] = inPorts[i];
    }
    this.n = count;
  }

  /** process() threw on the batch last kept: write it, unless over a bound. */
  save(error: unknown, generation: number): string | undefined {
    const now = Date.now();
    if (now - this.last < 1000 / SAVE_LIMITS.perSecond || this.files >= this.cfg.maxFiles) { this.suppressed++; return undefined; }
    const frames: Uint8Array[] = [];
    for (let i = 0, at = 0; i < this.n; i++) { frames.push(this.copy.subarray(at, at + this.lens[i])); at += this.lens[i]; }
    const pcap = pcapBytes(frames);
    if (this.bytes + pcap.length > this.cfg.maxBytes) { this.suppressed++; return undefined; }
    this.last = now;
    this.files++;
    this.bytes += pcap.length;
    const names = this.view.portNames;
    const error1 = errorLocation(error);
    const info: FailedBatchInfo = {
      error: error1,
      location: /\(?((?:\/|[A-Za-z]:)[^()]*?\.[cm]?[tj]sx?:\d+:\d+)\)?$/.exec(error1)?.[1] ?? null,
      stack: mappedStack(error),
      core: this.view.core,
      generation,
      vnf: this.cfg.vnf,
      ports: [...names],
      inPorts: Array.from(this.ports.subarray(0, this.n), (p) => names[p] ?? String(p)),
      packets: this.n,
      at: new Date(now).toISOString(),
    };
    const base = join(this.cfg.dir, `core${this.view.core}-gen${generation}-${String(++this.seq).padStart(6, "0")}`);
    writeFileSync(`${base}.pcap`, pcap);
    writeFileSync(`${base}.json`, JSON.stringify(info, null, 2) + "\n");
    return `${base}.pcap`;
  }
}
