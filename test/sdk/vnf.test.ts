import { describe, expect, it } from "vitest";
import { defineVnf, makeCtx } from "../../sdk";
import type { VnfDefinition } from "../../sdk";

const process = (): void => undefined;

describe("defineVnf", () => {
  it("returns a valid definition unchanged", () => {
    const def = { ports: ["a", "b"], process, init: () => ({ n: 1 }) };
    expect(defineVnf(def)).toBe(def);
  });

  it("rejects bad ports with a clear message", () => {
    const bad = (d: unknown): (() => unknown) => () => defineVnf(d as VnfDefinition<unknown>);
    expect(bad(null)).toThrow(/expected an object/);
    expect(bad({ process })).toThrow(/`ports` must be a non-empty array/);
    expect(bad({ ports: [], process })).toThrow(/non-empty array/);
    expect(bad({ ports: "in", process })).toThrow(/non-empty array/);
    expect(bad({ ports: ["in", "in"], process })).toThrow(/duplicate port name "in"/);
    expect(bad({ ports: ["in", ""], process })).toThrow(/non-empty strings/);
    expect(bad({ ports: ["in", 3], process })).toThrow(/non-empty strings \(got 3\)/);
  });

  it("rejects missing or non-function handlers", () => {
    const bad = (d: unknown): (() => unknown) => () => defineVnf(d as VnfDefinition<unknown>);
    expect(bad({ ports: ["a"] })).toThrow(/`process` must be a function/);
    expect(bad({ ports: ["a"], process: 1 })).toThrow(/`process` must be a function/);
    expect(bad({ ports: ["a"], process, init: {} })).toThrow(/`init` must be a function/);
    expect(bad({ ports: ["a"], process, migrate: "x" })).toThrow(/`migrate` must be a function/);
  });
});

describe("makeCtx", () => {
  it("resolves ports and rejects unknown names", () => {
    const logs: unknown[][] = [];
    const ctx = makeCtx(["in", "out"], { core: 2, cores: 4, log: (...a) => logs.push(a) });
    expect(ctx.port("out")).toBe(1);
    expect([ctx.core, ctx.cores, ctx.ports]).toEqual([2, 4, ["in", "out"]]);
    expect(() => ctx.port("x")).toThrow('unknown port "x"; this VNF\'s ports are: in, out');
    ctx.log("hi", 1);
    expect(logs).toEqual([["hi", 1]]);
  });
});
