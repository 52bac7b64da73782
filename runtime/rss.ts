// RSS keys: names users pass to --rss-key, and the check for keys that fold
// the tuple space (Toeplitz is linear: a key with a 16-bit period gives at
// most 65,536 distinct hashes, one repeated byte only 64).
import { UserError } from "./user-error";

export const MICROSOFT_KEY = Uint8Array.from([
  0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
  0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
  0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
]);

export const SYMMETRIC_KEY = Uint8Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 0x6d : 0x5a));

export class RssKeyError extends UserError {}

/** "symmetric" (default), "microsoft", or 80 hex digits. */
export function parseRssKey(text: string | undefined): { key: Uint8Array; warning?: string } {
  if (text === undefined || text === "symmetric") return { key: SYMMETRIC_KEY };
  if (text === "microsoft")
    return { key: MICROSOFT_KEY, warning: "the Microsoft key is not symmetric: the two directions of a flow may land on different cores" };
  const hex = text.replace(/[:\s]/g, "");
  if (!/^[0-9a-fA-F]{80}$/.test(hex)) throw new RssKeyError(`--rss-key ${text}: give "symmetric", "microsoft" or 40 bytes as 80 hex digits`);
  const key = Uint8Array.from({ length: 40 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
  if (key.every((b) => b === key[0]))
    return { key, warning: `a key of one repeated byte (0x${key[0].toString(16).padStart(2, "0")}) folds every tuple to at most 64 hashes: flows will crowd onto few cores; the default symmetric key (0x6d5a repeated) keeps 65,536` };
  return { key };
}
