// Run by bench/harness.mjs (its own vitest config): runVnf over 10,000
// packets inside a vitest test, as a harness test would. Prints one JSON line.
import { it } from "vitest";
import { pkt, runVnf } from "../runtime/harness";
import fw from "../vnfs/firewall";
import l2fwd from "../vnfs/l2fwd";

it("runVnf over 10,000 packets", async () => {
  const reps = Number(process.env.REPS ?? 5);
  const t: Record<string, number[]> = { build: [], firewall: [], l2fwd: [], firewall4: [] };
  for (let r = 0; r < reps; r++) {
    let t0 = performance.now();
    const frames = Array.from({ length: 10_000 }, (_, i) => pkt.eth().ipv4({ src: `10.${(i >> 8) & 255}.${i & 255}.1` }).tcp({ dport: i % 7 === 0 ? 23 : 443 }).payload(18).build());
    t.build.push(performance.now() - t0);
    for (const [k, vnf, cores] of [["firewall", fw, 1], ["l2fwd", l2fwd, 1], ["firewall4", fw, 4]] as const) {
      t0 = performance.now();
      const res = await runVnf(vnf, { in: frames }, { cores });
      t[k].push(performance.now() - t0);
      if (res.verdicts.length !== 10_000) throw new Error("lost packets");
    }
  }
  console.log("BENCH " + JSON.stringify(t));
});
