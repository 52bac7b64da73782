// Keeps 1 MiB more in its state every batch: under --context quickjs with a
// memory limit its context runs out every few batches and is restarted, and
// the run's restarts say how long a restart takes.
import { defineVnf } from "../sdk";

export default defineVnf({
  ports: ["in", "out"],
  init: () => ({ kept: [] as Uint8Array[] }),
  process(_batch, st) { st.kept.push(new Uint8Array(2 ** 20).fill(1)); },
});
