// port-counter, version 2: packets and bytes per input port. The state's
// layout changed from version 1 (port-counter-v1.ts), so migrate() reshapes
// it: the packet counts carry over by reference (the same Float64Array, no
// copy, nothing lost), the byte counts start at zero. Reloading version 2
// onto itself keeps both. migrate() runs while the cores hold their next
// batch, so it only moves references; anything costly belongs in init(),
// which builds `fresh` before the hold.
import { defineVnf } from "../sdk";
import type { StateV1 } from "./port-counter-v1";

export interface State { packets: Float64Array; bytes: Float64Array }

export default defineVnf<State>({
  ports: ["in", "out"],
  init: (ctx) => ({ packets: new Float64Array(ctx.ports.length), bytes: new Float64Array(ctx.ports.length) }),
  migrate(prev, ctx, fresh) {
    const old = prev as Partial<State> & Partial<StateV1>;
    if (old?.packets instanceof Float64Array && old.packets.length === fresh.packets.length) fresh.packets = old.packets;
    if (old?.bytes instanceof Float64Array && old.bytes.length === fresh.bytes.length) fresh.bytes = old.bytes;
    else ctx.log("byte counts start now (the previous version did not count bytes)");
    return fresh;
  },
  process(batch, st) {
    const inPorts = batch.inPorts, lengths = batch.lengths, verdicts = batch.verdicts;
    const packets = st.packets, bytes = st.bytes;
    for (let i = 0; i < batch.count; i++) {
      const from = inPorts[i];
      packets[from]++;
      bytes[from] += lengths[i];
      verdicts[i] = (from ^ 1) + 1;
    }
  },
});
