// port-counter, version 1: forwards like l2fwd and counts packets per input
// port. Its state is one Float64Array. Version 2 (port-counter.ts) adds
// bytes and shows how migrate() reshapes this state on a hot reload:
//   vnfrun vnfs/port-counter-v1.ts --name pc ...
//   vnfrun reload pc --vnf vnfs/port-counter.ts
import { defineVnf } from "../sdk";

export interface StateV1 { packets: Float64Array }

export default defineVnf<StateV1>({
  ports: ["in", "out"],
  init: (ctx) => ({ packets: new Float64Array(ctx.ports.length) }),
  process(batch, st) {
    const inPorts = batch.inPorts, verdicts = batch.verdicts, packets = st.packets;
    for (let i = 0; i < batch.count; i++) {
      const from = inPorts[i];
      packets[from]++;
      verdicts[i] = (from ^ 1) + 1;
    }
  },
});
