// vnfrun trace NAME: attaches to a running instance and writes what it
// sends (trace-hub.ts) as pcapng, or a line a packet without -w.
import { closeSync, openSync, writeSync } from "node:fs";
import { InstanceError, connectError, connectInstance } from "./instance";
import { pcapngHeader, pcapngPacket } from "./pcapng";

export interface TraceOptions { causes?: string[]; port?: string; count?: number; passed?: boolean; write?: string }

export async function trace(target: string, o: TraceOptions): Promise<{ sent: number; missed: number }> {
  const sock = connectInstance(target);
  const fd = o.write ? openSync(o.write, "w") : undefined;
  const out = (b: Buffer | string) => (fd !== undefined ? writeSync(fd, typeof b === "string" ? Buffer.from(b) : b) : process.stdout.write(b));
  let ports: string[] = [];
  let result = { sent: 0, missed: 0 };
  const stop = () => sock.end();
  process.once("SIGINT", stop);
  try {
    await new Promise<void>((resolve, reject) => {
      let partial = "";
      sock.setEncoding("utf8");
      sock.on("connect", () => sock.write(JSON.stringify({ op: "trace", causes: o.causes, port: o.port, count: o.count, passed: o.passed }) + "\n"));
      sock.on("data", (d) => {
        const lines = (partial + d).split("\n");
        partial = lines.pop()!;
        for (const l of lines) {
          const m = JSON.parse(l);
          if (m.ok === false) return reject(new InstanceError(`${target}: ${m.error}`));
          if (m.ports) {
            ports = m.ports;
            if (fd !== undefined) out(pcapngHeader(ports));
          } else if (m.done) result = { sent: m.sent, missed: m.missed };
          else {
            result.sent++;
            const data = Buffer.from(m.data, "base64");
            const passed = m.cause === "passed";
            const comment = `${m.cause} core=${m.core} gen=${m.gen} in=${ports[m.in]}${passed ? ` out=${ports[m.out]}` : ""}`;
            if (fd !== undefined) out(pcapngPacket({ iface: passed ? m.out : m.in, inbound: !passed, queue: m.core, comment, timeUs: BigInt(m.at) * 1000n, data }));
            else out(`${new Date(m.at).toISOString().slice(11, 23)} ${comment} ${data.length} bytes\n`);
          }
        }
      });
      sock.on("error", (e) => reject(connectError(target, e)));
      sock.on("close", () => resolve());
    });
  } finally {
    process.off("SIGINT", stop);
    if (fd !== undefined) closeSync(fd);
  }
  return result;
}
