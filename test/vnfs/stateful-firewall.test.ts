import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Batch, ip4, ip6, makeCtx } from "../../sdk";
import fw, { tcpStep } from "../../vnfs/stateful-firewall";
import type { FirewallState } from "../../vnfs/stateful-firewall";
import { frame, icmpEcho, ipv4, ipv6, tcp, udp } from "../sdk/frames";

const PORTS = ["in", "out"];
const IN = 0, OUT = 1, TO_OUT = 2, TO_IN = 1, DROP = 0;
const SYN = 0x02, ACK = 0x10, SYNACK = 0x12, FIN = 0x01, RST = 0x04, PSH = 0x08;

const t4 = (src: string, dst: string, sport: number, dport: number, flags: number): Uint8Array =>
  frame(0x0800, ipv4({ src: ip4(src), dst: ip4(dst), proto: 6 }, tcp({ sport, dport, flags })));
const u4 = (src: string, dst: string, sport: number, dport: number): Uint8Array =>
  frame(0x0800, ipv4({ src: ip4(src), dst: ip4(dst), proto: 17 }, udp(sport, dport)));
const t6 = (src: string, dst: string, sport: number, dport: number, flags: number): Uint8Array =>
  frame(0x86dd, ipv6({ src: ip6(src), dst: ip6(dst), next: 6 }, tcp({ sport, dport, flags })));

interface Run { ctx: ReturnType<typeof makeCtx>; st: FirewallState; logs: string[] }

function start(config?: unknown): Run {
  const logs: string[] = [];
  const ctx = makeCtx(PORTS, { config, log: (...a) => logs.push(a.join(" ")) });
  return { ctx, st: fw.init!(ctx), logs };
}

function send(r: Run, ...pkts: [Uint8Array, number][]): number[] {
  const b = Batch.fromFrames(pkts.map((p) => p[0]), PORTS);
  pkts.forEach((p, i) => { b.inPorts[i] = p[1]; });
  fw.process(b, r.st, r.ctx);
  return Array.from(b.verdicts.subarray(0, b.count));
}

const count = (r: Run, name: string): number => r.st.n[["passed", "new", "invalid", "denied", "defaulted", "untracked", "related", "nonIp", "malformed", "expired", "evicted", "logSuppressed"].indexOf(name)];

describe("stateful firewall", () => {
  it("lets a connection opened from inside pass both ways, through its TCP states", () => {
    const r = start();
    const A = "10.0.0.1", B = "192.0.2.80";
    expect(send(r,
      [t4(A, B, 40000, 80, SYN), IN],
      [t4(B, A, 80, 40000, SYNACK), OUT],
      [t4(A, B, 40000, 80, ACK), IN],
      [t4(A, B, 40000, 80, ACK | PSH), IN],
      [t4(B, A, 80, 40000, ACK | PSH), OUT],
      [t4(A, B, 40000, 80, FIN | ACK), IN],
      [t4(B, A, 80, 40000, FIN | ACK), OUT],
      [t4(A, B, 40000, 80, ACK), IN],
    )).toEqual([TO_OUT, TO_IN, TO_OUT, TO_OUT, TO_IN, TO_OUT, TO_IN, TO_OUT]);
    expect(count(r, "new")).toBe(1);
    expect(r.st.t4.count).toBe(1);
    const slot = r.st.t4.find4(ip4(A), ip4(B), 40000, 80, 6) >= 0 ? r.st.t4.find4(ip4(A), ip4(B), 40000, 80, 6) : r.st.t4.find4(ip4(B), ip4(A), 80, 40000, 6);
    expect(r.st.t4.classOf(slot)).toBe(6);   // TIME_WAIT
  });

  it("refuses unsolicited inbound, and counts it under the default action", () => {
    const r = start();
    expect(send(r, [t4("192.0.2.80", "10.0.0.1", 5555, 22, SYN), OUT], [u4("192.0.2.80", "10.0.0.1", 53, 5353), OUT])).toEqual([DROP, DROP]);
    expect(count(r, "defaulted")).toBe(2);
    expect(r.logs.length).toBe(2);
    expect(r.logs[0]).toMatch(/drop by the default action: tcp 192\.0\.2\.80:5555 -> 10\.0\.0\.1:22 flags 0x2 from out/);
  });

  it("drops a mid-stream packet unless loose, and a SYN-ACK nobody asked for", () => {
    expect(send(start(), [t4("10.0.0.1", "192.0.2.1", 1, 2, ACK), IN])).toEqual([DROP]);
    expect(send(start({ loose: true }), [t4("10.0.0.1", "192.0.2.1", 1, 2, ACK), IN], [t4("192.0.2.1", "10.0.0.1", 2, 1, ACK), OUT]))
      .toEqual([TO_OUT, TO_IN]);
    const r = start();
    expect(send(r, [t4("10.0.0.1", "192.0.2.1", 1, 2, SYN), IN], [t4("192.0.2.1", "10.0.0.1", 2, 1, ACK), OUT])).toEqual([TO_OUT, DROP]);
    expect(count(r, "invalid")).toBe(1);
  });

  it("answers UDP and ICMP echo as pseudo-connections, and passes ICMP errors about tracked flows", () => {
    const r = start();
    const echo = (src: string, dst: string, type: number): Uint8Array => frame(0x0800, ipv4({ src: ip4(src), dst: ip4(dst), proto: 1 }, icmpEcho(type, 77, 1)));
    expect(send(r, [u4("10.0.0.1", "192.0.2.53", 4000, 53), IN], [u4("192.0.2.53", "10.0.0.1", 53, 4000), OUT],
      [echo("10.0.0.1", "192.0.2.9", 8), IN], [echo("192.0.2.9", "10.0.0.1", 0), OUT], [echo("192.0.2.9", "10.0.0.7", 8), OUT]))
      .toEqual([TO_OUT, TO_IN, TO_OUT, TO_IN, DROP]);
    // A router's time-exceeded about the UDP flow quotes its IP header and 8 bytes.
    const quoted = ipv4({ src: ip4("10.0.0.1"), dst: ip4("192.0.2.53"), proto: 17 }, udp(4000, 53)).slice(0, 28);
    const err = (q: number[]): Uint8Array => frame(0x0800, ipv4({ src: ip4("198.51.100.1"), dst: ip4("10.0.0.1"), proto: 1 }, [11, 0, 0, 0, 0, 0, 0, 0, ...q]));
    const other = ipv4({ src: ip4("10.0.0.1"), dst: ip4("192.0.2.99"), proto: 17 }, udp(4000, 53)).slice(0, 28);
    expect(send(r, [err(quoted), OUT], [err(other), OUT])).toEqual([TO_IN, DROP]);
    expect(count(r, "related")).toBe(1);
  });

  it("tracks IPv6 the same way", () => {
    const r = start();
    expect(send(r, [t6("2001:db8::1", "2001:db8:1::80", 40000, 443, SYN), IN], [t6("2001:db8:1::80", "2001:db8::1", 443, 40000, SYNACK), OUT],
      [t6("2001:db8:1::80", "2001:db8::1", 443, 40001, SYNACK), OUT])).toEqual([TO_OUT, TO_IN, DROP]);
  });

  it("counts hits per rule, first match wins", () => {
    const r = start({ rules: [{ action: "deny", from: "in", proto: "tcp", dport: 25 }, { action: "allow", from: "in" }, { action: "allow", from: "out", proto: "tcp", dport: [22, 23] }] });
    expect(send(r, [t4("10.0.0.1", "192.0.2.1", 1, 25, SYN), IN], [t4("10.0.0.1", "192.0.2.1", 1, 80, SYN), IN],
      [t4("192.0.2.1", "10.0.0.1", 1, 22, SYN), OUT], [t4("192.0.2.1", "10.0.0.1", 1, 80, SYN), OUT])).toEqual([DROP, TO_OUT, TO_IN, DROP]);
    expect(Array.from(r.st.hits)).toEqual([1, 1, 1]);
    expect(count(r, "denied")).toBe(1);
    expect(count(r, "defaulted")).toBe(1);
  });

  it("refuses new flows when the table is full and counts them; RST closes", () => {
    const r = start({ capacity: 2 });
    expect(send(r, [t4("10.0.0.1", "192.0.2.1", 1, 80, SYN), IN], [t4("10.0.0.1", "192.0.2.1", 2, 80, SYN), IN], [t4("10.0.0.1", "192.0.2.1", 3, 80, SYN), IN]))
      .toEqual([TO_OUT, TO_OUT, DROP]);
    expect(count(r, "untracked")).toBe(1);
    expect(send(r, [t4("192.0.2.1", "10.0.0.1", 80, 1, RST), OUT])).toEqual([TO_IN]);
  });

  it("keeps its connections across a reload with new rules", () => {
    const r = start();
    send(r, [t4("10.0.0.1", "192.0.2.1", 1, 80, SYN), IN], [t4("192.0.2.1", "10.0.0.1", 80, 1, SYNACK), OUT]);
    // The new version's ctx: the same core, so the same memory (ctx.memory).
    const ctx2 = { ...makeCtx(PORTS, { config: { rules: [{ action: "deny", from: "in" }] } }), memory: r.ctx.memory };
    const st2 = fw.migrate!(r.st, ctx2, fw.init!(ctx2));
    const r2: Run = { ctx: ctx2, st: st2, logs: [] };
    expect(send(r2, [t4("10.0.0.1", "192.0.2.1", 1, 80, ACK), IN], [t4("10.0.0.1", "192.0.2.1", 2, 80, SYN), IN])).toEqual([TO_OUT, DROP]);
  });

  it("names the bad field of a config", () => {
    const bad = (config: unknown): string => { try { start(config); return ""; } catch (e) { return (e as Error).message; } };
    expect(bad({ rules: [{ action: "allow", dport: 70000 }] })).toBe("stateful-firewall config rules[0].dport: 70000 is not an integer >= 0 and <= 65535");
    expect(bad({ rules: [{ action: "permit" }] })).toMatch(/^stateful-firewall config rules\[0\]\.action: "permit" is not allowed; give one of "allow", "deny"$/);
    expect(bad({ rules: [{ action: "allow", src: "10.0.0/8" }] })).toMatch(/rules\[0\]\.src: "10\.0\.0\/8" is not an IPv4 address or prefix/);
    expect(bad({ timeout: {} })).toMatch(/^stateful-firewall config timeout: unknown field; known here: .*timeouts/);
    expect(bad({ timeouts: { establshed: 5 } })).toMatch(/timeouts\.establshed: unknown field/);
  });

  it("runs its example config", () => {
    const config = JSON.parse(readFileSync(new URL("../../vnfs/stateful-firewall.example.json", import.meta.url), "utf8"));
    expect(send(start(config), [t4("198.18.0.1", "198.19.0.1", 1024, 1, SYN), IN])).toEqual([TO_OUT]);
  });

  it("steps TCP states as Linux conntrack does", () => {
    expect(tcpStep(0, 1, SYNACK, 0)).toBe(1);       // SYN_SENT -> SYN_RECV
    expect(tcpStep(1, 0, ACK, 0)).toBe(2);          // -> ESTABLISHED
    expect(tcpStep(2, 0, FIN | ACK, 0)).toBe(3);    // FIN_WAIT
    expect(tcpStep(2, 1, FIN | ACK, 0)).toBe(4);    // CLOSE_WAIT
    expect(tcpStep(3, 1, FIN | ACK, 2)).toBe(5);    // both FINs: LAST_ACK
    expect(tcpStep(5, 0, ACK, 6)).toBe(6);          // TIME_WAIT
    expect(tcpStep(2, 0, RST, 0)).toBe(7);          // CLOSE
    expect(tcpStep(6, 0, SYN, 6)).toBe(0);          // reopened
  });
});
