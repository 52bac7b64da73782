// Connection states (RFC 9293 3.3.2), as small integers for the hot path.

export const CLOSED = 0, LISTEN = 1, SYN_SENT = 2, SYN_RECEIVED = 3, ESTABLISHED = 4,
  FIN_WAIT_1 = 5, FIN_WAIT_2 = 6, CLOSE_WAIT = 7, CLOSING = 8, LAST_ACK = 9, TIME_WAIT = 10;

export const STATE_NAMES: readonly string[] = [
  "CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED",
  "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT",
];

/** What the application hears about a connection. Each is called from
 *  inside input/poll processing, on the core that owns the connection. */
export interface TcpHandlers {
  /** A passive open completed (the listener's handlers). */
  accepted?(c: import("./conn").TcpConn): void;
  /** An active open completed. */
  connected?(c: import("./conn").TcpConn): void;
  /** In-order data: bytes[off, off+len) is only valid during the call (it
   *  may be the packet's own buffer). Return how many bytes were taken
   *  (nothing returned = all); the rest waits, shrinking the window, until
   *  `pull()`. */
  data?(c: import("./conn").TcpConn, bytes: Uint8Array, off: number, len: number): number | void;
  /** Room in the send buffer again after a short write. */
  writable?(c: import("./conn").TcpConn): void;
  /** The peer sent FIN: no more data will come. */
  end?(c: import("./conn").TcpConn): void;
  /** Both directions finished cleanly. */
  closed?(c: import("./conn").TcpConn): void;
  /** The connection is gone abnormally: "reset" by the peer, "refused",
   *  "timeout" after too many retransmissions. */
  reset?(c: import("./conn").TcpConn, why: string): void;
}
