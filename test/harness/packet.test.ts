// The packet builder, checked by a reader no one here wrote: tshark decodes
// each frame and validates every checksum; its fields must be what was asked
// for, and what the builder filled in (lengths, types, checksums) must agree.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decode, describePacket, pkt, writeCapture } from "../../runtime/harness";
import { needs } from "../helpers/tools";

const skip = needs("tshark");

const FIELDS = [
  "frame.len", "frame.protocols", "_ws.malformed", "_ws.expert.severity", "_ws.expert.message", "ieee8021ad.id",
  "eth.src", "eth.dst", "eth.type", "vlan.id", "vlan.priority", "vlan.dei", "vlan.etype",
  "arp.opcode", "arp.src.hw_mac", "arp.src.proto_ipv4", "arp.dst.hw_mac", "arp.dst.proto_ipv4",
  "ip.src", "ip.dst", "ip.ttl", "ip.id", "ip.len", "ip.proto", "ip.flags.df", "ip.flags.mf", "ip.frag_offset", "ip.dsfield", "ip.hdr_len", "ip.checksum.status", "ip.opt.type",
  "ipv6.src", "ipv6.dst", "ipv6.hlim", "ipv6.plen", "ipv6.nxt", "ipv6.tclass", "ipv6.flow",
  "icmp.type", "icmp.code", "icmp.ident", "icmp.seq", "icmp.checksum.status",
  "icmpv6.type", "icmpv6.code", "icmpv6.echo.identifier", "icmpv6.echo.sequence_number", "icmpv6.checksum.status",
  "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw", "tcp.flags", "tcp.window_size_value", "tcp.hdr_len", "tcp.checksum.status", "tcp.urgent_pointer",
  "tcp.options.mss_val", "tcp.options.wscale.shift", "tcp.options.sack_perm", "tcp.options.timestamp.tsval", "tcp.options.timestamp.tsecr", "tcp.options.sack_le", "tcp.len",
  "udp.srcport", "udp.dstport", "udp.length", "udp.checksum.status", "data.data",
];

/** tshark's reading of each frame: field -> values (as tshark prints them). */
function tshark(frames: Uint8Array[]): Record<string, string[]>[] {
  const dir = mkdtempSync(join(tmpdir(), "vnfrun-pkt-"));
  try {
    const file = join(dir, "p.pcap");
    writeCapture(file, frames);
    const r = spawnSync("tshark", ["-r", file, "-T", "json", "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
      "-o", "udp.check_checksum:TRUE", "-o", "tcp.relative_sequence_numbers:FALSE", "-o", "tcp.analyze_sequence_numbers:FALSE", ...FIELDS.flatMap((f) => ["-e", f])], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`tshark failed: ${r.stderr}`);
    return (JSON.parse(r.stdout) as { _source: { layers: Record<string, string[]> } }[]).map((p) => p._source.layers);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const PI_NOTE = 0x400000;   // expert severities: chat 0x200000, note, warn 0x600000, error 0x800000
const GOOD = ["1"];   // tshark's checksum status: 0 bad, 1 good, 2 not checked

describe.skipIf(!!skip)(`packet builder against tshark${skip}`, () => {
  const cases = {
    tcp4: pkt.eth({ src: "02:aa:bb:cc:dd:01", dst: "02:aa:bb:cc:dd:02" }).ipv4({ src: "192.0.2.1", dst: "198.51.100.7", ttl: 17, id: 4321, tos: 0xb8, df: true })
      .tcp({ sport: 40000, dport: 443, seq: 1000, flags: "S", window: 512, options: [{ mss: 1460 }, { sackOk: true }, { ts: [7, 9] }, { nop: true }, { wscale: 7 }] }).payload("hello"),
    udp4: pkt.eth().ipv4().udp({ sport: 40001, dport: 9999 }).payload([1, 2, 3]),
    icmp4: pkt.eth().ipv4().icmp({ type: 8, id: 77, seq: 3 }).payload(56),
    frag: pkt.eth().ipv4({ mf: true, fragOffset: 0, id: 9 }).udp({ dport: 9999 }).payload(8),
    vlan: pkt.eth().vlan({ vid: 42, pcp: 5, dei: true }).ipv4().udp({ dport: 9 }),
    qinq: pkt.eth().vlan({ tpid: 0x88a8, vid: 100 }).vlan({ vid: 200 }).ipv6().udp({ dport: 9999 }).payload("x"),
    arp: pkt.eth({ dst: "ff:ff:ff:ff:ff:ff" }).arp({ op: 2, spa: "10.1.1.1", tpa: "10.1.1.2", tha: "02:00:00:00:00:09" }),
    tcp6: pkt.eth().ipv6({ src: "2001:db8::a", dst: "2001:db8:1::b", hopLimit: 9, tc: 0x20, flow: 0x12345 }).tcp({ flags: "AEC", ack: 1, sport: 1, dport: 2, options: [{ sack: [[5, 10]] }] }),
    icmp6: pkt.eth().ipv6().icmpv6({ type: 128, id: 5, seq: 6 }).payload("ping"),
    opts4: pkt.eth().ipv4({ options: [0x94, 0x04, 0, 0] }).udp({ dport: 9999 }).payload(1),   // router alert
    odd: pkt.eth().ipv4().tcp({ flags: "FPA", ack: 1 }).payload("odd"),            // odd length: checksum pads
  };
  const frames = Object.values(cases).map((b) => b.build());
  const got = Object.fromEntries(Object.keys(cases).map((k, i) => [k, null as unknown as Record<string, string[]>]));
  let layers: Record<string, string[]>[] = [];

  it("every frame decodes, no malformed packet, no expert warning", () => {
    layers = tshark(frames);
    expect(layers).toHaveLength(frames.length);
    Object.keys(cases).forEach((k, i) => { got[k] = layers[i]; });
    for (const [k, l] of Object.entries(got)) {
      expect(l["_ws.malformed"], k).toBeUndefined();
      // Chat and notes (TCP flag remarks) may remain; a warning or an error means a wrong field.
      expect((l["_ws.expert.severity"] ?? []).filter((s) => Number(s) > PI_NOTE), `${k}: ${l["_ws.expert.message"]}\n${describePacket(frames[Object.keys(cases).indexOf(k)])}`).toEqual([]);
      expect(Number(l["frame.len"][0])).toBe(frames[Object.keys(cases).indexOf(k)].length);
    }
  });

  it("checksums are right wherever tshark checks them", () => {
    const status = (l: Record<string, string[]>, f: string) => l[f]?.[0];
    for (const [k, l] of Object.entries(got))
      for (const f of ["ip.checksum.status", "tcp.checksum.status", "udp.checksum.status", "icmp.checksum.status", "icmpv6.checksum.status"])
        if (l[f]) expect(status(l, f), `${k} ${f}`).toBe(GOOD[0]);
    expect(got.tcp4["tcp.checksum.status"]).toBeDefined();
    expect(got.icmp6["icmpv6.checksum.status"]).toBeDefined();
  });
  void GOOD;

  it("fields are what was asked for, and filled-in fields are right", () => {
    const t = got.tcp4;
    expect([t["eth.src"][0], t["eth.dst"][0], t["eth.type"][0]]).toEqual(["02:aa:bb:cc:dd:01", "02:aa:bb:cc:dd:02", "0x0800"]);
    expect([t["ip.src"][0], t["ip.dst"][0], t["ip.ttl"][0], t["ip.id"][0], t["ip.dsfield"][0], t["ip.flags.df"][0], t["ip.proto"][0]])
      .toEqual(["192.0.2.1", "198.51.100.7", "17", "0x10e1", "0xb8", "1", "6"]);
    expect(Number(t["ip.len"][0])).toBe(frames[0].length - 14);
    expect([t["tcp.srcport"][0], t["tcp.dstport"][0], t["tcp.seq_raw"][0], t["tcp.ack_raw"][0], t["tcp.flags"][0], t["tcp.window_size_value"][0], t["tcp.len"][0]])
      .toEqual(["40000", "443", "1000", "0", "0x0002", "512", "5"]);
    expect([t["tcp.options.mss_val"][0], t["tcp.options.wscale.shift"][0], t["tcp.options.timestamp.tsval"][0], t["tcp.options.timestamp.tsecr"][0]]).toEqual(["1460", "7", "7", "9"]);
    expect(t["tcp.options.sack_perm"]).toBeDefined();
    expect(t["tcp.hdr_len"][0]).toBe("40");
    expect(t["data.data"][0]).toBe(Buffer.from("hello").toString("hex"));

    expect([got.udp4["udp.srcport"][0], got.udp4["udp.dstport"][0], got.udp4["udp.length"][0], got.udp4["ip.proto"][0]]).toEqual(["40001", "9999", "11", "17"]);
    expect([got.icmp4["icmp.type"][0], got.icmp4["icmp.ident"][0], got.icmp4["icmp.seq"][0]]).toEqual(["8", "77", "3"]);
    expect([got.frag["ip.flags.mf"][0], got.frag["ip.frag_offset"][0]]).toEqual(["1", "0"]);
    expect([got.vlan["vlan.id"][0], got.vlan["vlan.priority"][0], got.vlan["vlan.dei"][0], got.vlan["vlan.etype"][0], got.vlan["eth.type"][0]]).toEqual(["42", "5", "1", "0x0800", "0x8100"]);
    expect([got.qinq["ieee8021ad.id"], got.qinq["vlan.id"]]).toEqual([["100"], ["200"]]);   // 802.1ad outside, 802.1Q in
    expect(got.qinq["eth.type"][0]).toBe("0x88a8");
    expect(got.qinq["udp.dstport"][0]).toBe("9999");
    expect([got.arp["arp.opcode"][0], got.arp["arp.src.hw_mac"][0], got.arp["arp.src.proto_ipv4"][0], got.arp["arp.dst.hw_mac"][0], got.arp["arp.dst.proto_ipv4"][0]])
      .toEqual(["2", "02:00:00:00:00:01", "10.1.1.1", "02:00:00:00:00:09", "10.1.1.2"]);
    const s = got.tcp6;
    expect([s["ipv6.src"][0], s["ipv6.dst"][0], s["ipv6.hlim"][0], s["ipv6.nxt"][0], s["ipv6.tclass"][0], s["ipv6.flow"][0], s["ipv6.plen"][0]])
      .toEqual(["2001:db8::a", "2001:db8:1::b", "9", "6", "0x00000020", "0x012345", "32"]);
    expect(s["tcp.flags"][0]).toBe("0x00d0");
    expect(s["tcp.options.sack_le"]).toEqual(["5"]);
    expect([got.icmp6["icmpv6.type"][0], got.icmp6["icmpv6.echo.identifier"][0], got.icmp6["icmpv6.echo.sequence_number"][0], got.icmp6["ipv6.nxt"][0]]).toEqual(["128", "0x0005", "6", "58"]);
    expect([got.opts4["ip.hdr_len"][0], got.opts4["ip.opt.type"]?.[0]]).toEqual(["24", "148"]);
    expect(got.odd["tcp.flags"][0]).toBe("0x0019");
  });

  it("fields given explicitly are kept, even when wrong", () => {
    const bad = pkt.eth().ipv4({ len: 99, checksum: 0x1234 }).udp({ len: 7, checksum: 0xbeef }).payload(4).build();
    const [l] = tshark([bad]);
    expect(l["ip.len"][0]).toBe("99");
    expect(l["ip.checksum.status"][0]).not.toBe(GOOD[0]);
    expect(decode(bad)[1].fields.checksum).toBe("0x1234 (bad)");
    expect(decode(bad)[2].fields).toMatchObject({ len: 7, checksum: "0xbeef (bad)" });
  });
});

describe("decoder", () => {
  it("reads back what the builder wrote, checksums marked good", () => {
    const f = pkt.eth().ipv4({ src: "10.9.8.7" }).tcp({ dport: 8080, flags: "SA" }).payload("hi").build();
    const d = decode(f);
    expect(d.map((l) => l.layer)).toEqual(["eth", "ipv4", "tcp", "payload"]);
    expect(d[1].fields).toMatchObject({ src: "10.9.8.7", checksum: expect.not.stringContaining("bad") });
    expect(d[2].fields).toMatchObject({ dport: 8080, flags: "SA", checksum: expect.not.stringContaining("bad") });
    expect(d[3].fields).toEqual({ length: 2, bytes: "6869" });
  });

  it("refuses a bad address or flag with a line naming it", () => {
    expect(() => pkt.eth().ipv4({ src: "10.0.0.300" }).build()).toThrow(/pkt: ipv4 src "10.0.0.300"/);
    expect(() => pkt.eth().ipv4().tcp({ flags: "SX" }).build()).toThrow(/flag "X"/);
  });
});
