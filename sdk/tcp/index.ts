// vnfrun's TCP: a user-space stack per core. See README.md beside this file.

export { TcpStack, TcpListener } from "./stack";
export type { TcpOptions, TcpOutput } from "./stack";
export { TcpConn } from "./conn";
export type { TcpHandlers } from "./state";
export { STATE_NAMES } from "./state";
export { TcpCounters, ConnCounters } from "./counters";
export { TcpMemory } from "./memory";
export { Segment, parseSegment, FIN, SYN, RST, PSH, ACK } from "./segment";
export { OutSegment, headerLength, writeSegment } from "./build";
