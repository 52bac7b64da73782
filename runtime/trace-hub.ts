// vnfrun trace, the supervisor's side: attached traces (each a control
// socket kept open), the control word that tells the cores what to copy,
// and the frames the cores post, filtered and streamed as JSON lines.
import type { Socket } from "node:net";
import { CTL_TRACE } from "./control";
import { TRACE, type TraceCause, type TraceMessage } from "./tracer";

export interface TraceRequest { op: "trace"; causes?: string[]; port?: string; count?: number; passed?: boolean }

interface Session { sock: Socket; want: number; port?: number; left: number; sent: number; missed: number }

export class TraceHub {
  private sessions = new Set<Session>();
  constructor(private control: Int32Array, private portNames: string[]) {}

  /** Attaches a trace: the first line names the ports, then a line a frame. */
  attach(req: TraceRequest, sock: Socket): void {
    const causes = req.causes?.length ? req.causes : ["vnf_drops", "vnf_error_drops", "bad_verdicts"];
    const unknown = causes.filter((c) => !(c in TRACE) || c === "passed");
    const port = req.port === undefined ? undefined : this.portNames.indexOf(req.port);
    const refuse = (error: string) => sock.end(JSON.stringify({ ok: false, error }) + "\n");
    if (unknown.length) return void refuse(`no cause ${unknown.join(", ")} to trace: the VNF's drops are ${Object.keys(TRACE).filter((c) => c !== "passed").join(", ")}`);
    if (port === -1) return void refuse(`no port ${req.port}: this VNF's ports are ${this.portNames.join(", ")}`);
    let want = causes.reduce((m, c) => m | TRACE[c as TraceCause], 0);
    if (req.passed) want |= TRACE.passed;
    const s: Session = { sock, want, port, left: req.count ?? Infinity, sent: 0, missed: 0 };
    this.sessions.add(s);
    sock.write(JSON.stringify({ ok: true, ports: this.portNames }) + "\n");
    sock.on("close", () => this.detach(s));
    sock.on("error", () => this.detach(s));
    this.update();
  }

  /** Frames a core posted. */
  deliver(m: TraceMessage): void {
    for (const s of this.sessions) {
      s.missed += m.missed;
      for (const f of m.frames) {
        if (s.left <= 0) break;
        if (!(s.want & TRACE[f.cause])) continue;
        if (s.port !== undefined && f.in !== s.port && f.out !== s.port) continue;
        s.sock.write(JSON.stringify({ cause: f.cause, core: m.core, gen: m.gen, in: f.in, out: f.out, at: m.at, data: Buffer.from(f.data).toString("base64") }) + "\n");
        s.left--;
        s.sent++;
      }
      if (s.left <= 0) this.finish(s);
    }
  }

  /** The run is ending: every trace gets its last line. */
  end(): void {
    for (const s of this.sessions) this.finish(s);
  }

  private finish(s: Session): void {
    s.sock.end(JSON.stringify({ done: true, sent: s.sent, missed: s.missed }) + "\n");
    this.detach(s);
  }

  private detach(s: Session): void {
    this.sessions.delete(s);
    this.update();
  }

  private update(): void {
    Atomics.store(this.control, CTL_TRACE, [...this.sessions].reduce((m, s) => m | s.want, 0));
  }
}
