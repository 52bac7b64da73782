// What the supervisor and a core's worker share: the start-up data and the
// control words (a SharedArrayBuffer the loop checks once per batch).
import type { CoreOptions } from "./addon";

export interface WorkerInit {
  engineId: number;
  core: number;
  cores: number;
  bundleFile: string;
  portNames: string[];
  options: CoreOptions;
  control: SharedArrayBuffer;   // Int32Array of CTL_WORDS, for control messages
  watch: SharedArrayBuffer;     // Int32Array [in process(), batches done]: the supervisor's watchdog
  nativeForward?: number;       // run the C++ l2fwd for this many ms instead of JS
}

// Stopping is the engine's job (inputs stop, rings drain, each core's cycle
// then returns done); these words carry what the engine does not know about.
export const CTL_WORDS = 4;
export const WATCH_BUSY = 0;    // 1 while process() runs
export const WATCH_BATCHES = 1; // batches finished (wraps)
