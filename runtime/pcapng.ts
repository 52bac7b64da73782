// A pcapng writer for `vnfrun trace`: one interface per VNF port, each
// packet with its direction (epb_flags), the core as its queue (epb_queue)
// and a comment naming why it was captured (opt_comment), which tshark shows
// as frame.comment.

function block(type: number, body: Buffer): Buffer {
  const len = 12 + body.length;
  const b = Buffer.alloc(len);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(len, 4);
  body.copy(b, 8);
  b.writeUInt32LE(len, len - 4);
  return b;
}

function option(code: number, value: Buffer): Buffer {
  const b = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
  b.writeUInt16LE(code, 0);
  b.writeUInt16LE(value.length, 2);
  value.copy(b, 4);
  return b;
}

const END = Buffer.alloc(4);
const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };

/** Section header and one Ethernet interface per name. */
export function pcapngHeader(interfaces: string[]): Buffer {
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeUInt16LE(0, 6);
  shb.writeBigInt64LE(-1n, 8);   // section length unknown
  const idbs = interfaces.map((name) => {
    const head = Buffer.alloc(8);
    head.writeUInt16LE(1, 0);      // LINKTYPE_ETHERNET
    head.writeUInt32LE(0, 4);      // no snaplen
    return block(1, Buffer.concat([head, option(2, Buffer.from(name)), END]));
  });
  return Buffer.concat([block(0x0a0d0d0a, Buffer.concat([shb, option(4, Buffer.from("vnfrun trace")), END])), ...idbs]);
}

export interface TracedPacket {
  iface: number;
  inbound: boolean;
  queue: number;
  comment: string;
  timeUs: bigint;
  data: Buffer;
}

export function pcapngPacket(p: TracedPacket): Buffer {
  const head = Buffer.alloc(20);
  head.writeUInt32LE(p.iface, 0);
  head.writeUInt32LE(Number(p.timeUs >> 32n), 4);
  head.writeUInt32LE(Number(p.timeUs & 0xffffffffn), 8);
  head.writeUInt32LE(p.data.length, 12);
  head.writeUInt32LE(p.data.length, 16);
  const data = Buffer.alloc(Math.ceil(p.data.length / 4) * 4);
  p.data.copy(data);
  const options = Buffer.concat([
    option(1, Buffer.from(p.comment)),
    option(2, u32(p.inbound ? 1 : 2)),     // epb_flags: direction
    option(6, u32(p.queue)),               // epb_queue: the core (32 bits, as tshark reads it)
    END,
  ]);
  return block(6, Buffer.concat([head, data, options]));
}
