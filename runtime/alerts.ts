// Drops that mean "the set-up is wrong" get a voice: the first time one of
// these causes counts on a port (or core) during a run, one line goes to
// stderr naming the port, the cause and the fix. At most once per cause and
// port; the JSON summary keeps the counts and the drivers' detail.
import { MAX_FRAME, SMALL_FRAME, type PortSpec } from "./ports";
import type { Snapshot } from "./stats";

export interface AlertSetup {
  specs: PortSpec[];
  largeBuffers?: number;   // --large-buffers as given
}

type Fix = (spec: PortSpec, setup: AlertSetup) => string;

// The spec as written, without the `name=` the line already says.
const ifname = (s: PortSpec) => s.options.ifname ?? s.options.name ?? "IF";

// What each cause means and how to fix it, by driver where that matters.
const PORT_CAUSES: Record<string, { what: string; fix: Fix }> = {
  rx_oversize: {
    what: "frames longer than the largest buffer were dropped",
    fix: (s, setup) => {
      const i = ifname(s);
      switch (s.driver) {
        case "packet":
        case "tap":
          return s.options.vnet === "0"
            ? `GRO/TSO super-frames need the virtio-net header: remove "novnet" from the spec, or turn GRO off (ethtool -K ${i} gro off) and TSO off on the senders`
            : `frames over ${SMALL_FRAME} bytes that are not GSO (a jumbo MTU?): lower the MTU on the path (ip link set ${i} mtu 1500)`;
        case "xdp":
          return `an AF_XDP buffer holds at most 1792 bytes: lower the MTU (ip link set ${i} mtu 1500) and, in generic mode, turn GSO/TSO off on the senders (ethtool -K PEER tso off gso off)`;
        case "pcap":
          return setup.largeBuffers === 0
            ? `frames over ${SMALL_FRAME} bytes need large buffers: drop --large-buffers 0`
            : `no buffer holds a frame over ${MAX_FRAME} bytes: cut them with editcap -s ${MAX_FRAME} IN OUT`;
        default:
          return "lower the MTU of the sender's path";
      }
    },
  },
  tx_oversize: {
    what: "frames longer than the port sends were dropped",
    fix: (s) => s.driver === "xdp"
      ? `AF_XDP sends at most ${ifname(s)}'s MTU and 1792 bytes: keep longer frames (jumbo, pcap captures with GRO) off this port, or send them by packet:${ifname(s)}`
      : `raise the MTU of ${ifname(s)} (ip link set ${ifname(s)} mtu N) or keep longer frames (jumbo, captures taken with GRO) off this port`,
  },
  tx_no_output: {
    what: "the VNF sends to this port but it cannot transmit",
    fix: (s) => `${s.driver === "pcap" ? "a pcap port that is read" : `a ${s.driver} port`} only receives: send elsewhere, or make it an output (pcap:FILE,write, sink, or a live port)`,
  },
  rx_ring_full: {
    what: "the rx ring overflowed: frames arrived faster than the VNF took them",
    fix: () => "give it more cores (--cores N --dist hw or sw1), --busy-poll, or a faster process()",
  },
};

const CORE_CAUSES: Record<string, { what: string; fix: string }> = {
  dist_drops: {
    what: "the distributor dropped frames: this core's ring was full, its VNF falls behind",
    fix: "add cores (--cores N), make process() faster, or --overflow wait where the sources can wait",
  },
};

export class Alerts {
  private said = new Set<string>();
  readonly lines: string[] = [];

  constructor(private setup: AlertSetup, private say: (line: string) => void) {}

  /** Look at counters since the run began; say what newly counts. */
  check(s: Snapshot): void {
    s.ports.forEach((counters, p) => {
      const spec = this.setup.specs[p];
      if (!spec) return;
      for (const [cause, c] of Object.entries(PORT_CAUSES)) {
        if (!(counters[cause] > 0)) continue;
        this.once(`${cause} ${p}`, `warning: port ${spec.name} (${spec.spec}): ${c.what} (${cause} ${counters[cause]}); fix: ${c.fix(spec, this.setup)}`);
      }
    });
    s.cores.forEach((counters, k) => {
      for (const [cause, c] of Object.entries(CORE_CAUSES)) {
        if (!(counters[cause] > 0)) continue;
        this.once(`${cause} core${k}`, `warning: core ${k}: ${c.what} (${cause} ${counters[cause]}); fix: ${c.fix}`);
      }
    });
  }

  private once(key: string, line: string): void {
    if (this.said.has(key)) return;
    this.said.add(key);
    this.lines.push(line);
    this.say(line);
  }
}
