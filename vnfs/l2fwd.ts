// l2fwd: a wire. Packets from "in" go out "out" and back; no byte changes.
// It works on the batch's typed arrays directly: the cheapest possible VNF,
// and the baseline the engine's own cost is measured against.
import { defineVnf } from "../sdk";

export default defineVnf({
  ports: ["in", "out"],
  init: (ctx) => ({ in: ctx.port("in"), out: ctx.port("out") }),
  process(batch, st) {
    const inPorts = batch.inPorts, verdicts = batch.verdicts;
    const a = st.in, b = st.out;
    for (let i = 0; i < batch.count; i++) {
      verdicts[i] = (inPorts[i] === a ? b : a) + 1; // verdict k + 1 = port k
    }
  },
});
