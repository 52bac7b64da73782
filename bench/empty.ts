// Does nothing (every packet dropped): under --context quickjs its rate is
// the batch copy in and out and one call, alone.
import { defineVnf } from "../sdk";

export default defineVnf({ ports: ["in", "out"], process() {} });
