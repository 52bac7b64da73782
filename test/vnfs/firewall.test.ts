import { beforeAll, describe, expect, it } from "vitest";
import { Batch, ip4, ip4str, ip6, makeCtx } from "../../sdk";
import defaultFirewall, { config, makeFirewall } from "../../vnfs/firewall";
import type { FirewallConfig, FirewallState } from "../../vnfs/firewall";
import type { AclOptions } from "../../sdk";
import { join } from "node:path";
import { expectPcap, pkt, runVnf } from "../../runtime/harness";
import { extHeader, fragHeader, frame, ipv6, udp } from "../sdk/frames";

const PORTS = ["in", "out"];
const IN = 0, OUT = 1;

interface Sent { frame: Uint8Array; from?: number }

let engine: AclOptions = {};

/** Run frames through a firewall on the engine (vnfrun/test); per packet the
 *  port it left by or "drop", core 0's state, and the published counters. */
async function run(cfg: FirewallConfig, sent: Sent[]): Promise<{ verdicts: string[]; st: FirewallState; counters: Record<string, number> }> {
  const r = await runVnf(makeFirewall(cfg, engine), sent.map((s) => ({ port: PORTS[s.from ?? IN], packet: s.frame })));
  return { verdicts: r.verdicts, st: r.state as FirewallState, counters: r.counters };
}

const v4tcp = (src: string, dst: string, sport: number, dport: number): Uint8Array =>
  pkt.eth().ipv4({ src, dst }).tcp({ sport, dport }).build();
const v4udp = (src: string, dst: string, sport: number, dport: number): Uint8Array =>
  pkt.eth().ipv4({ src, dst }).udp({ sport, dport }).build();
const v4icmp = (src: string, dst: string): Uint8Array =>
  pkt.eth().ipv4({ src, dst }).icmp({ id: 1, seq: 1 }).build();
// Extension headers are not the builder's: these use the test frame helpers.
const v6udp = (src: string, dst: string, dport: number, ext: number[] = []): Uint8Array =>
  ext.length ? frame(0x86dd, ipv6({ src: ip6(src), dst: ip6(dst), next: 0 }, [...ext, ...udp(5000, dport)]))
    : pkt.eth().ipv6({ src, dst }).udp({ sport: 5000, dport }).build();

const TO_OUT = "out", TO_IN = "in", DROP = "drop";

// Every test runs twice: rules as generated code, and on the typed-array
// interpreter used where code generation is not allowed.
describe.each([{ codegen: true }, { codegen: false }])("firewall %o", (opts) => {
  beforeAll(() => { engine = opts; });
  describe("firewall directions", () => {
    it("allowed traffic crosses: in -> out, out -> in", async () => {
      const { verdicts } = await run({ defaultAction: "allow" }, [
        { frame: v4tcp("10.0.0.1", "10.0.0.2", 1, 80), from: IN },
        { frame: v4tcp("10.0.0.2", "10.0.0.1", 80, 1), from: OUT },
      ]);
      expect(verdicts).toEqual([TO_OUT, TO_IN]);
    });

    it("rules apply both ways unless `from` limits them", async () => {
      const cfg: FirewallConfig = {
        defaultAction: "allow",
        rules: [{ action: "deny", proto: "tcp", dport: 22 }, { action: "deny", from: "out", proto: "tcp", dport: 3389 }],
      };
      const { verdicts } = await run(cfg, [
        { frame: v4tcp("1.1.1.1", "2.2.2.2", 999, 22), from: IN },
        { frame: v4tcp("1.1.1.1", "2.2.2.2", 999, 22), from: OUT },
        { frame: v4tcp("1.1.1.1", "2.2.2.2", 999, 3389), from: IN },
        { frame: v4tcp("1.1.1.1", "2.2.2.2", 999, 3389), from: OUT },
      ]);
      expect(verdicts).toEqual([DROP, DROP, TO_OUT, DROP]);
    });
  });

  describe("firewall rules", () => {
    it("first match wins; default applies when nothing matches", async () => {
      const cfg: FirewallConfig = {
        defaultAction: "deny",
        rules: [
          { action: "allow", src: "10.1.0.0/16", proto: "tcp", dport: 443 },
          { action: "deny", src: "10.0.0.0/8" },
          { action: "allow", proto: "tcp", dport: 443 },
        ],
      };
      const { verdicts, st } = await run(cfg, [
        { frame: v4tcp("10.1.2.3", "8.8.8.8", 5555, 443) }, // rule 1
        { frame: v4tcp("10.2.2.3", "8.8.8.8", 5555, 443) }, // rule 2 beats rule 3
        { frame: v4tcp("11.0.0.1", "8.8.8.8", 5555, 443) }, // rule 3
        { frame: v4tcp("11.0.0.1", "8.8.8.8", 5555, 80) }, // default deny
      ]);
      expect(verdicts).toEqual([TO_OUT, DROP, TO_OUT, DROP]);
      expect(st.counters).toMatchObject({ allowed: 2, denied: 1, defaulted: 1 });
    });

    it("port ranges are inclusive and need a TCP/UDP header", async () => {
      const cfg: FirewallConfig = { defaultAction: "allow", rules: [{ action: "deny", dport: [1000, 2000] }] };
      const { verdicts } = await run(cfg, [
        { frame: v4tcp("1.1.1.1", "2.2.2.2", 1, 999) },
        { frame: v4tcp("1.1.1.1", "2.2.2.2", 1, 1000) },
        { frame: v4udp("1.1.1.1", "2.2.2.2", 1, 1500) },
        { frame: v4tcp("1.1.1.1", "2.2.2.2", 1, 2000) },
        { frame: v4tcp("1.1.1.1", "2.2.2.2", 1, 2001) },
        { frame: v4icmp("1.1.1.1", "2.2.2.2") },
      ]);
      expect(verdicts).toEqual([TO_OUT, DROP, DROP, DROP, TO_OUT, TO_OUT]);
    });

    it("sport matches replies; proto narrows", async () => {
      const cfg: FirewallConfig = {
        defaultAction: "deny",
        rules: [
          { action: "allow", proto: "tcp", dport: 80 },
          { action: "allow", proto: "tcp", sport: 80 },
          { action: "allow", proto: "icmp" },
        ],
      };
      const { verdicts } = await run(cfg, [
        { frame: v4tcp("10.0.0.1", "10.0.0.2", 40000, 80), from: IN },
        { frame: v4tcp("10.0.0.2", "10.0.0.1", 80, 40000), from: OUT },
        { frame: v4udp("10.0.0.2", "10.0.0.1", 80, 40000), from: OUT },
        { frame: v4icmp("10.0.0.2", "10.0.0.1"), from: OUT },
      ]);
      expect(verdicts).toEqual([TO_OUT, TO_IN, DROP, TO_IN]);
    });

    it("dst prefixes and numeric protocols", async () => {
      const cfg: FirewallConfig = {
        defaultAction: "allow",
        rules: [{ action: "deny", dst: "192.168.0.0/24", proto: 17 }],
      };
      const { verdicts } = await run(cfg, [
        { frame: v4udp("1.1.1.1", "192.168.0.9", 1, 2) },
        { frame: v4udp("1.1.1.1", "192.168.1.9", 1, 2) },
        { frame: v4tcp("1.1.1.1", "192.168.0.9", 1, 2) },
      ]);
      expect(verdicts).toEqual([DROP, TO_OUT, TO_OUT]);
    });

    it("non-first fragments match address rules but never port rules", async () => {
      const cfg: FirewallConfig = { defaultAction: "allow", rules: [{ action: "deny", proto: "udp", dport: 53 }] };
      const later = pkt.eth().ipv4({ fragOffset: 3 }).udp({ sport: 5, dport: 53 }).build();
      const first = pkt.eth().ipv4({ mf: true }).udp({ sport: 5, dport: 53 }).build();
      expect((await run(cfg, [{ frame: first }, { frame: later }])).verdicts).toEqual([DROP, TO_OUT]);
    });

    it("VLAN-tagged IPv4 is filtered like untagged", async () => {
      const cfg: FirewallConfig = { defaultAction: "allow", rules: [{ action: "deny", proto: "tcp", dport: 23 }] };
      const tagged = pkt.eth().vlan({ vid: 10 }).ipv4().tcp({ dport: 23 }).build();
      expect((await run(cfg, [{ frame: tagged }])).verdicts).toEqual([DROP]);
    });
  });

  describe("blocked sources", () => {
    it("drops a blocked source before any allow rule", async () => {
      const cfg: FirewallConfig = {
        defaultAction: "allow",
        blockedSources: ["192.0.2.66"],
        rules: [{ action: "allow", src: "192.0.2.0/24" }],
      };
      const { verdicts, st } = await run(cfg, [
        { frame: v4tcp("192.0.2.66", "10.0.0.1", 1, 2) },
        { frame: v4tcp("192.0.2.67", "10.0.0.1", 1, 2) },
        { frame: v4tcp("10.0.0.1", "192.0.2.66", 1, 2) }, // only the source counts
        { frame: v4tcp("192.0.2.66", "10.0.0.1", 1, 2), from: OUT },
      ]);
      expect(verdicts).toEqual([DROP, TO_OUT, TO_OUT, DROP]);
      expect(st.counters.blocked).toBe(2);
    });

    it("handles 1,000+ blocked addresses (hash set), including 0.0.0.0 and 255.255.255.255", async () => {
      const blocked: string[] = ["0.0.0.0", "255.255.255.255"];
      for (let i = 0; i < 1000; i++) blocked.push(ip4str((ip4("100.64.0.0") + i * 97) >>> 0));
      const cfg: FirewallConfig = { defaultAction: "allow", blockedSources: blocked };
      const fw = makeFirewall(cfg);
      const st = fw.init!(makeCtx(PORTS));
      expect(st.fw.blocked.size).toBe(1002);
      expect(st.fw.rules4).toBe(0); // no rules: every entry went to the set

      const sent: Sent[] = [];
      const expected: string[] = [];
      for (let i = 0; i < 1100; i++) {
        const a = (ip4("100.64.0.0") + i * 97) >>> 0;
        sent.push({ frame: v4udp(ip4str(a), "10.0.0.1", 1, 2) });
        expected.push(i < 1000 ? DROP : TO_OUT);
        sent.push({ frame: v4udp(ip4str(a + 1), "10.0.0.1", 1, 2) }); // neighbours pass
        expected.push(TO_OUT);
      }
      sent.push({ frame: v4udp("0.0.0.0", "10.0.0.1", 1, 2) }, { frame: v4udp("255.255.255.255", "10.0.0.1", 1, 2) });
      expected.push(DROP, DROP);
      expect((await run(cfg, sent)).verdicts).toEqual(expected);
    });

    it("prefixes and IPv6 entries become deny rules counted as blocked", async () => {
      const cfg: FirewallConfig = {
        defaultAction: "allow",
        blockedSources: ["198.51.100.0/24", "2001:db8:bad::/48", "2001:db8::66"],
        rules: [{ action: "allow" }],
      };
      const { verdicts, st } = await run(cfg, [
        { frame: v4udp("198.51.100.7", "10.0.0.1", 1, 2) },
        { frame: v4udp("198.51.101.7", "10.0.0.1", 1, 2) },
        { frame: v6udp("2001:db8:bad::1", "2001:db8::2", 53) },
        { frame: v6udp("2001:db8:bae::1", "2001:db8::2", 53) },
        { frame: v6udp("2001:db8::66", "2001:db8::2", 53) }, // a /128: every word counts
        { frame: v6udp("2001:db8::67", "2001:db8::2", 53) },
        { frame: v6udp("2001:db9::66", "2001:db8::2", 53) },
      ]);
      expect(verdicts).toEqual([DROP, TO_OUT, DROP, TO_OUT, DROP, TO_OUT, TO_OUT]);
      expect(st.counters).toMatchObject({ blocked: 3, allowed: 4 });
    });
  });

  describe("IPv6", () => {
    it("matches v6 prefixes, ports after extension headers, icmp as ICMPv6", async () => {
      const cfg: FirewallConfig = {
        defaultAction: "deny",
        rules: [
          { action: "deny", src: "2001:db8:1::/48" },
          { action: "deny", dst: "2001:db8::aa:0:0/96" },
          { action: "allow", proto: "udp", dport: 53 },
          { action: "allow", proto: "icmp" },
        ],
      };
      const echo6 = pkt.eth().ipv6().icmpv6({ id: 1, seq: 1 }).build();
      const { verdicts } = await run(cfg, [
        { frame: v6udp("2001:db8:1::5", "2001:db8::2", 53) },
        { frame: v6udp("2001:db8:2::5", "2001:db8::2", 53) },
        { frame: v6udp("2001:db8:2::5", "2001:db8::2", 53, [...extHeader(60, 0), ...extHeader(17, 0)]) },
        { frame: v6udp("2001:db8:2::5", "2001:db8::2", 54) },
        { frame: echo6 },
        { frame: v6udp("2001:db8:2::5", "2001:db8::aa:0:1", 53) },
        { frame: v6udp("2001:db8:2::5", "2001:db8::ab:0:1", 53) },
      ]);
      expect(verdicts).toEqual([DROP, TO_OUT, TO_OUT, DROP, TO_OUT, DROP, TO_OUT]);
    });

    it("v4 prefix rules skip IPv6 and v6 prefix rules skip IPv4", async () => {
      const cfg: FirewallConfig = {
        defaultAction: "allow",
        rules: [{ action: "deny", src: "0.0.0.0/0" }, { action: "deny", dst: "::/0", proto: "tcp" }],
      };
      const { verdicts } = await run(cfg, [
        { frame: v6udp("2001:db8::1", "2001:db8::2", 53) },
        { frame: pkt.eth().ipv6().tcp().build() },
        { frame: v4udp("1.2.3.4", "5.6.7.8", 1, 2) },
      ]);
      expect(verdicts).toEqual([TO_OUT, DROP, DROP]);
    });

    it("non-first IPv6 fragments don't match port rules", async () => {
      const cfg: FirewallConfig = { defaultAction: "allow", rules: [{ action: "deny", proto: "udp", dport: 53 }] };
      const later = frame(0x86dd, ipv6({ next: 44 }, [...fragHeader(17, 8, false), ...udp(1, 53)]));
      expect((await run(cfg, [{ frame: later }])).verdicts).toEqual([TO_OUT]);
    });
  });

  describe("non-IP", () => {
    const arpReq = pkt.eth().arp({ op: 1, spa: "10.0.0.1", tpa: "10.0.0.2" }).build();
    const lldp = frame(0x88cc, new Array(40).fill(0));
    const badIp = frame(0x0800, [0x45, 0, 0, 10]); // too short to be IPv4

    it("ARP passes, other non-IP and broken IP drop by default", async () => {
      const r = await run({ defaultAction: "allow" }, [
        { frame: arpReq }, { frame: arpReq, from: OUT }, { frame: lldp }, { frame: badIp }, { frame: new Uint8Array(10) },
      ]);
        const { verdicts, st } = r;
      expect(verdicts).toEqual([TO_OUT, TO_IN, DROP, DROP, DROP]);
      expect(st.counters).toMatchObject({ allowed: 2, nonIp: 2, malformed: 1 });
      expect(r.counters).toMatchObject({ allowed: 2, nonIp: 2, malformed: 1 });   // as vnfrun top shows them
    });

    it("arp and nonIp actions are configurable", async () => {
      const { verdicts } = await run({ defaultAction: "deny", arp: "deny", nonIp: "allow" }, [{ frame: arpReq }, { frame: lldp }]);
      expect(verdicts).toEqual([DROP, TO_OUT]);
    });
  });

  describe("configuration", () => {
    it("rejects bad policies at build time with the rule number", () => {
      const bad = (cfg: unknown): (() => unknown) => () => makeFirewall(cfg as FirewallConfig);
      expect(bad({ defaultAction: "maybe" })).toThrow(/defaultAction: action must be "allow" or "deny"/);
      expect(bad({ defaultAction: "allow", rules: [{ action: "allow" }, { action: "drop" }] })).toThrow(/rule #2/);
      expect(bad({ defaultAction: "allow", rules: [{ action: "deny", src: "10.0.0.0/33" }] })).toThrow(/rule #1 src: invalid prefix length/);
      expect(bad({ defaultAction: "allow", rules: [{ action: "deny", dport: [20, 10] }] })).toThrow(/rule #1 dport/);
      expect(bad({ defaultAction: "allow", rules: [{ action: "deny", dport: 70000 }] })).toThrow(/rule #1 dport/);
      expect(bad({ defaultAction: "allow", rules: [{ action: "deny", proto: "icmp", dport: 1 }] })).toThrow(/sport\/dport need proto/);
      expect(bad({ defaultAction: "allow", rules: [{ action: "deny", proto: "gre" }] })).toThrow(/proto must be/);
      expect(bad({ defaultAction: "allow", rules: [{ action: "deny", src: "10.0.0.0/8", dst: "::/0" }] })).toThrow(/different IP versions/);
      expect(bad({ defaultAction: "allow", rules: [{ action: "deny", from: "wan" }] })).toThrow(/from must be "in" or "out"/);
      expect(bad({ defaultAction: "allow", rules: [{ action: "deny", src: "10.0.0.0/8", proto: "icmp6" }] })).toThrow(/never matches IPv4/);
      expect(bad({ defaultAction: "allow", blockedSources: ["10.0.0.256"] })).toThrow(/blockedSources\[0\]/);
    });

    it("the shipped policy loads and does what its comments say", async () => {
      expect(defaultFirewall.ports).toEqual(["in", "out"]);
      const r = await runVnf(defaultFirewall, { in: [
        v4tcp("10.0.0.1", "10.0.0.2", 1, 80),
        v4tcp("10.0.0.1", "10.0.0.2", 1, 23),
        v4tcp("192.0.2.66", "10.0.0.2", 1, 80),
        v4tcp("198.51.100.9", "10.0.0.2", 1, 80),
      ] });
      expect(r.verdicts).toEqual([TO_OUT, DROP, DROP, DROP]);
      expect(r.counters).toMatchObject({ allowed: 1, denied: 1, blocked: 2 });
      expect(config.defaultAction).toBe("allow");
    });

    it("migrate keeps counters", () => {
      const fw = makeFirewall({ defaultAction: "deny" });
      const ctx = makeCtx(PORTS);
      const st = fw.init!(ctx);
      st.counters.defaulted = 7;
      // migrate gets this version's fresh init() state and carries the counters into it.
      expect(fw.migrate!(st, ctx, fw.init!(ctx)).counters.defaulted).toBe(7);
      expect(fw.migrate!(undefined, ctx, fw.init!(ctx)).counters.defaulted).toBe(0);
      // From an older version whose counters were a plain object.
      const old = { counters: { allowed: 5, blocked: 1, denied: 2, defaulted: 3, malformed: 0, nonIp: 4 } };
      expect(fw.migrate!(old, ctx, fw.init!(ctx)).counters.toJSON()).toEqual(old.counters);
    });

    it("counters are exact past 2^30 (a Float64Array, not small integers)", async () => {
      const { st } = await run({ defaultAction: "allow" }, [{ frame: v4tcp("10.0.0.1", "10.0.0.2", 1, 80) }]);
      st.counters.allowed = 2 ** 40;
      const vnf = makeFirewall({ defaultAction: "allow" }, engine);
      vnf.process(Batch.fromFrames([v4tcp("10.0.0.1", "10.0.0.2", 1, 80)], PORTS), st, makeCtx(PORTS));
      expect(st.counters.allowed).toBe(2 ** 40 + 1);
      expect(st.counters.n).toBeInstanceOf(Float64Array);
      expect(JSON.parse(JSON.stringify(st.counters))).toMatchObject({ allowed: 2 ** 40 + 1, blocked: 0 });
    });
  });
});

describe("firewall against a golden capture", () => {
  it("the shipped policy's output for mixed traffic is the reviewed one (test/vnfs/golden/firewall-out.pcap)", async () => {
    const traffic = [
      pkt.eth().ipv4({ src: "10.0.0.1", dst: "10.0.0.2" }).tcp({ sport: 40000, dport: 443, flags: "PA", ack: 1 }).payload("GET / HTTP/1.1\r\n\r\n"),
      pkt.eth().ipv4({ src: "10.0.0.1", dst: "10.0.0.2" }).tcp({ dport: 23 }),                // telnet: denied
      pkt.eth().ipv4({ src: "192.0.2.66", dst: "10.0.0.2" }).udp({ dport: 53 }).payload(20),   // blocked source
      pkt.eth().vlan({ vid: 7 }).ipv4().udp({ dport: 123 }).payload(48),
      pkt.eth().ipv6({ src: "2001:db8::1", dst: "2001:db8::2" }).icmpv6({ id: 9, seq: 1 }).payload("ping"),
      pkt.eth({ dst: "ff:ff:ff:ff:ff:ff" }).arp({ spa: "10.0.0.1", tpa: "10.0.0.254" }),
    ];
    const r = await runVnf(defaultFirewall, { in: traffic });
    expect(r.verdicts).toEqual(["out", "drop", "drop", "out", "out", "out"]);
    expectPcap(r.out.out, join(__dirname, "golden", "firewall-out.pcap"));
  });
});
