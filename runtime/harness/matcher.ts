// Packets compared as packets: equal bytes pass; a failure prints both
// decoded, the fields that differ and a hexdump of the first difference,
// never two arrays of numbers. For vitest (and jest) as
// expect(x).toEqualPacket(y), registered when vnfrun/test is imported under
// either; for node --test and anything else as assertPacket(x, y).
import { AssertionError } from "node:assert";
import { explainDifference, firstDifference } from "./decode";
import { frameOf, type PacketLike } from "./packet";

/** Throws an AssertionError explaining the difference unless the bytes are equal. */
export function assertPacket(actual: PacketLike, expected: PacketLike, message?: string): void {
  const a = frameOf(actual), e = frameOf(expected);
  if (firstDifference(a, e) < 0) return;
  throw new AssertionError({ message: `${message ? message + ": " : ""}packets differ\n${explainDifference(a, e)}`, actual: a, expected: e, operator: "assertPacket" });
}

/** For expect.extend (vitest, jest). */
export const packetMatchers = {
  toEqualPacket(this: { isNot?: boolean }, received: PacketLike, expected: PacketLike) {
    let a: Uint8Array, e: Uint8Array;
    try {
      a = frameOf(received);
      e = frameOf(expected);
    } catch (err) {
      return { pass: false, message: () => `toEqualPacket: ${(err as Error).message}` };
    }
    const pass = firstDifference(a, e) < 0;
    return {
      pass,
      message: () => (pass ? "expected the packets to differ, they are equal" : `packets differ\n${explainDifference(a, e)}`),
    };
  },
};

// vitest keeps its expect on globalThis under this symbol (jest, as `expect`);
// extending it extends every expect of the run.
type Extendable = { extend?: (m: object) => void };
const g = globalThis as Record<string | symbol, unknown>;
const host = (g[Symbol.for("expect-global")] ?? g.expect) as Extendable | undefined;
if (typeof host?.extend === "function") host.extend(packetMatchers);

interface PacketMatchers<R = unknown> {
  /** Bytes equal; on failure, both packets decoded with the fields that differ. */
  toEqualPacket(expected: PacketLike): R;
}

// vitest's expect types live in @vitest/expect ("vitest" re-exports them).
declare module "@vitest/expect" {
  interface Assertion<T = any> extends PacketMatchers<T> {}
  interface AsymmetricMatchersContaining extends PacketMatchers {}
}
