// sdk's utf8() stands in for TextEncoder, which a quickjs context lacks:
// it must give TextEncoder's bytes for every string, lone surrogates too.
import fc from "fast-check";
import { expect, it } from "vitest";
import { utf8 } from "../../sdk";

it("utf8() gives TextEncoder's bytes for any string, lone surrogates included", () => {
  const enc = new TextEncoder();
  const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
  const text = fc.array(fc.oneof(fc.fullUnicode(), fc.char(), loneSurrogate), { maxLength: 40 }).map((a) => a.join(""));
  fc.assert(fc.property(text, (s) => { expect(Array.from(utf8(s))).toEqual(Array.from(enc.encode(s))); }), { numRuns: 2000 });
  expect(Array.from(utf8("é€😀"))).toEqual([0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80]);
});
