// Golden captures: a test's output frames against a pcap kept beside the
// test. A mismatch says which frame, which fields, and shows the bytes
// around the first difference; VNFRUN_UPDATE_GOLDEN=1 rewrites the file
// (review the diff of the pcap like any other change).
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { describePacket, explainDifference, firstDifference } from "./decode";
import { frameOf, type PacketLike } from "./packet";
import { readCapture, writeCapture } from "./pcap-file";

export class GoldenMismatch extends Error {
  override name = "GoldenMismatch";
}

const updating = () => /^(1|true|yes)$/i.test(process.env.VNFRUN_UPDATE_GOLDEN ?? "");

/** Checks `frames` against the golden pcap `file` (a path from the current
 *  folder, or absolute); throws a GoldenMismatch saying what differs. With
 *  VNFRUN_UPDATE_GOLDEN=1 it writes the file instead. */
export function expectPcap(frames: readonly PacketLike[], file: string): void {
  const path = resolve(file);
  const got = frames.map(frameOf);
  if (updating()) {
    writeCapture(path, got);
    return;
  }
  if (!existsSync(path))
    throw new GoldenMismatch(`${file}: no golden capture yet; run the test once with VNFRUN_UPDATE_GOLDEN=1 to write it from these ${got.length} frames, and check it in`);
  const want = readCapture(path);
  for (let i = 0; i < Math.min(got.length, want.length); i++) {
    if (firstDifference(got[i], want[i]) >= 0)
      throw new GoldenMismatch(`${file}: frame ${i + 1} of ${want.length} differs\n${explainDifference(got[i], want[i])}\n${hint()}`);
  }
  if (got.length !== want.length) {
    const longer = got.length > want.length ? got : want;
    const extra = longer.slice(Math.min(got.length, want.length));
    throw new GoldenMismatch(`${file}: expected ${want.length} frames, got ${got.length}; the first ${Math.min(got.length, want.length)} agree; ` +
      `${got.length > want.length ? "extra" : "missing"} from frame ${Math.min(got.length, want.length) + 1}:\n${describePacket(extra[0])}\n${hint()}`);
  }
}

const hint = () => "(if the new output is right: VNFRUN_UPDATE_GOLDEN=1 rewrites the golden file)";
