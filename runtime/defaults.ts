// The engine's settings and their defaults, in one place: the CLI shows and
// applies them, the supervisor hands every one to the engine (binding.cc
// takes no defaults of its own), and the README's option table quotes them.
// Ports' options have theirs in each driver's schema (native/ports/*.cc).
export const DEFAULTS = {
  rxBatch: 256,       // most packets per batch handed to the VNF (MAX_BATCH_RECV)
  txBatch: 32,        // most frames per driver transmit (MAX_BATCH_SEND)
  idleUs: 100,        // longest sleep when idle
  backlog: 16384,     // frames a core's stand-in holds while the core is away (native/stand_in.h), within half the pool
  keep: 4096,         // frames a core's VNF may keep past their batch (native/core.h), within a quarter of the pool
  buffers: 32768,     // 2 KiB pool buffers
  largeBuffers: 256,  // 66 KiB ones, when a port receives longer frames (engine.h)
  ringSize: 1024,     // slots per distribution ring and pipe
  bufSize: 2048,
  headroom: 64,
  vnfTimeoutS: 5,
} as const;

export const DISTRIBUTIONS = ["none", "hw", "sw1", "sw2"] as const;
export const OVERFLOW_POLICIES = ["auto", "drop", "wait"] as const;
