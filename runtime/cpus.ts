// --cpus LIST: "0-3,6" -> [0, 1, 2, 3, 6], checked against this machine.
import { availableParallelism } from "node:os";
import { UserError } from "./user-error";

export class CpuListError extends UserError {}

export function parseCpuList(text: string, have = availableParallelism()): number[] {
  const out: number[] = [];
  for (const part of text.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new CpuListError(`--cpus ${text}: give CPU numbers and ranges such as 0-3,6`);
    const lo = +m[1], hi = m[2] === undefined ? lo : +m[2];
    if (hi < lo) throw new CpuListError(`--cpus ${text}: range ${part} runs backwards`);
    for (let c = lo; c <= hi; c++) {
      if (c >= have) throw new CpuListError(`--cpus ${text}: CPU ${c} does not exist (this machine has CPUs 0-${have - 1})`);
      if (out.includes(c)) throw new CpuListError(`--cpus ${text}: CPU ${c} is listed twice`);
      out.push(c);
    }
  }
  return out;
}
