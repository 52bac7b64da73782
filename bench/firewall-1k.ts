// The benchmark's firewall: 1,000 blocked sources (a tenth of them hit by
// gen's flows) and 10 port rules, on the shipped firewall's code.
import { makeFirewall } from "../vnfs/firewall";

const blocked: string[] = [];
// gen's sources are 198.18.0.0 + flow; block every 10th of the first 1,000
// flows, and fill up to 1,000 entries with addresses gen never sends from.
for (let f = 0; f < 1000; f += 10) blocked.push(`198.18.${f >> 8}.${f & 255}`);
for (let i = 0; blocked.length < 1000; i++) blocked.push(`203.0.${113 + (i >> 8)}.${i & 255}`);

const portRules = [23, 25, 110, 135, 139, 445, 1433, 3389, 5900, 6000].map((dport) => ({ action: "deny" as const, proto: "udp" as const, dport }));

export default makeFirewall({ defaultAction: "allow", blockedSources: blocked, rules: portRules });
