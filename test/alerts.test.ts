// Set-up warnings (runtime/alerts.ts): a drop cause that means the set-up is
// wrong is said once per cause and port, with the fix, the moment it first
// counts; through the CLI the line reaches stderr and the JSON summary.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Alerts } from "../runtime/alerts";
import { parsePorts } from "../runtime/ports";
import type { Snapshot } from "../runtime/stats";
import { frame, writePcap } from "./helpers/pcap";
import { vnfrun } from "./helpers/tools";

const snap = (ports: Record<string, number>[], cores: Record<string, number>[] = [{}]): Snapshot => ({ at: 0, ports, cores });

describe("Alerts", () => {
  const specs = parsePorts(["in=packet:eth1,novnet", "out=xdp:eth2"], ["in", "out"]);

  it("says a cause once per port, when it first counts, with the driver's fix", () => {
    const said: string[] = [];
    const a = new Alerts({ specs }, (l) => said.push(l));
    a.check(snap([{ rx_oversize: 0 }, {}]));
    expect(said).toEqual([]);
    a.check(snap([{ rx_oversize: 3 }, {}]));
    a.check(snap([{ rx_oversize: 900 }, {}]));
    expect(said).toEqual([
      'warning: port in (packet:eth1,novnet): frames longer than the largest buffer were dropped (rx_oversize 3); fix: GRO/TSO super-frames need the virtio-net header: remove "novnet" from the spec, or turn GRO off (ethtool -K eth1 gro off) and TSO off on the senders',
    ]);
    a.check(snap([{ rx_oversize: 900 }, { rx_oversize: 1 }]));
    expect(said[1]).toMatch(/^warning: port out \(xdp:eth2\): .*rx_oversize 1\); fix: an AF_XDP buffer holds at most 1792 bytes: lower the MTU \(ip link set eth2 mtu 1500\)/);
    a.check(snap([{ rx_oversize: 900, rx_ring_full: 5 }, { rx_oversize: 7 }]));
    expect(said).toHaveLength(3);
    expect(said[2]).toMatch(/^warning: port in .*rx ring overflowed.*\(rx_ring_full 5\); fix: /);
    expect(a.lines).toEqual(said);
  });

  it("names the core whose ring overflowed", () => {
    const said: string[] = [];
    const a = new Alerts({ specs }, (l) => said.push(l));
    a.check(snap([{}, {}], [{ dist_drops: 0 }, { dist_drops: 12 }]));
    a.check(snap([{}, {}], [{ dist_drops: 0 }, { dist_drops: 40 }]));
    expect(said).toEqual([expect.stringMatching(/^warning: core 1: the distributor dropped frames.*\(dist_drops 12\); fix: add cores/)]);
  });

  it("counts that are not set-up errors stay quiet", () => {
    const said: string[] = [];
    new Alerts({ specs }, (l) => said.push(l)).check(snap([{ rx_packets: 5, rx_malformed: 2, vnf_drops: 3, rx_csum_finished: 9 }, {}], [{ vnf_drops: 3 }]));
    expect(said).toEqual([]);
  });
});

describe("set-up warnings through the CLI", () => {
  const dir = mkdtempSync(join(tmpdir(), "vnfrun-alerts-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a VNF sending to a pcap that is read: tx_no_output, one line per port", () => {
    const f = { src: [10, 0, 0, 1], dst: [10, 0, 0, 2], sport: 1, dport: 2, proto: 17 as const };
    writePcap(join(dir, "a.pcap"), Array.from({ length: 50 }, (_, i) => frame(f, i)));
    writePcap(join(dir, "b.pcap"), Array.from({ length: 20 }, (_, i) => frame(f, i)));
    const r = vnfrun(["vnfs/l2fwd.ts", "--port", `pcap:${join(dir, "a.pcap")}`, "--port", `pcap:${join(dir, "b.pcap")},read`, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(2);
    for (const port of ["in", "out"])
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^warning: port ${port} \\(pcap:.*\\): the VNF sends to this port but it cannot transmit \\(tx_no_output \\d+\\); fix: a pcap port that is read only receives`)));
    const s = JSON.parse(r.stdout);
    expect(s.ports.map((p: any) => p.tx_no_output)).toEqual([20, 50]);
    expect(s.warnings).toEqual(lines);
  });

  it("a core that falls behind in sw1 with --overflow drop: dist_drops, said once for that core", () => {
    const r = vnfrun(["vnfs/l2fwd.ts", "--cores", "2", "--dist", "sw1", "--overflow", "drop", "--port", "in=gen:count=300000", "--port", "out=sink", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    const dropping = s.cores.map((c: any, k: number) => (c.dist_drops > 0 ? k : -1)).filter((k: number) => k >= 0);
    const lines = r.stderr.split("\n").filter((l) => l.includes("dist_drops"));
    // Unpaced gen on 3 threads over 2 CPUs usually overflows a ring; when it
    // does not, there must be no line either.
    expect(lines.map((l) => Number(/^warning: core (\d+):/.exec(l)![1])).sort()).toEqual(dropping);
  });
});
