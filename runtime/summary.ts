// The human-readable end-of-run summary.
import type { Summary } from "./supervisor";

export function formatSummary(s: Summary): string {
  const cores = s.cores_used > 1 ? `, ${s.cores_used} cores (${s.dist})` : "";
  const lines = [`${s.vnf}${cores}: ${s.seconds.toFixed(2)} s, rx ${s.rx_mpps.toFixed(3)} Mpps, tx ${s.tx_mpps.toFixed(3)} Mpps, ${s.tx_gbps.toFixed(2)} Gbit/s out`];
  for (const p of s.ports) {
    lines.push(`  ${p.name.padEnd(8)} ${String(p.driver).padEnd(40)} rx ${p.rx_packets}  tx ${p.tx_packets}`);
  }
  if (s.cores_used > 1)
    s.cores.forEach((c, i) => lines.push(`  core ${i}: ${c.packets} packets in ${c.batches} batches${c.dist_drops ? `, ${c.dist_drops} dropped by the distributor` : ""}`));
  const stoodIn = s.cores.reduce((a, c) => a + (c.stand_in_frames ?? 0), 0);
  if (stoodIn) lines.push(`  stand-in: ${stoodIn} frames taken off the ports while a core was away (a reload, a pause), handled in order when it came back`);
  if (s.reloads.length) {
    const live = s.reloads.filter((r) => r.ok).length;
    lines.push(`  reloads: ${s.reloads.length} (${live} live, ${s.reloads.length - live} refused); gen ${s.generation} live at the end`);
  }
  const causes = Object.entries(s.drops).filter(([, n]) => n > 0);
  lines.push(causes.length ? `  dropped: ${causes.map(([k, n]) => `${k} ${n}`).join(", ")}` : "  dropped: none");
  return lines.join("\n") + "\n";
}
