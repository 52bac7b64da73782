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
  control: SharedArrayBuffer;   // Int32Array of CTL_WORDS
  nativeForward?: number;       // run the C++ l2fwd for this many ms instead of JS
}

export const CTL_STOP = 0;      // non-zero: finish the batch in hand and exit
export const CTL_WORDS = 4;
