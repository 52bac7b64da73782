// Counters: one per cause, bumped where the thing is decided. Plain number
// fields, so reading them is free and a snapshot is a spread.

/** Per-core (per-stack) counters. */
export class TcpCounters {
  segsIn = 0;
  segsOut = 0;
  bytesIn = 0;          // payload delivered in order to connections
  bytesOut = 0;         // payload sent, retransmissions included
  retransSegs = 0;
  fastRetrans = 0;      // recoveries entered on duplicate ACKs / SACK
  rtoExpired = 0;
  lostRetransmits = 0;  // retransmissions found lost by SACKs of later data (resent at once, no RTO)
  tailLossProbes = 0;   // probes sent 2 SRTT into a silent flight (RFC 8985 TLP)
  timeouts = 0;         // connections given up after too many retries
  activeOpens = 0;
  passiveOpens = 0;     // SYNs that made a half-open connection
  established = 0;
  resetsIn = 0;         // connections reset by the peer
  resetsOut = 0;        // RST segments sent
  badChecksum = 0;
  malformed = 0;        // not a TCP segment we can read
  fragments = 0;        // IP fragments (not reassembled here)
  noConnection = 0;     // segments for no connection or listener
  listenOverflow = 0;   // SYNs dropped: the listener's backlog was full
  memoryRefusedConn = 0;// connections not made: budget spent
  memoryRefusedGrow = 0;// buffer growth refused by the budget
  challengeAcks = 0;    // RFC 5961
  challengeAckLimited = 0;
  pawsRejected = 0;     // RFC 7323 old duplicates
  outOfWindow = 0;      // unacceptable segments (ACKed and dropped)
  oooSegs = 0;          // out-of-order segments queued
  oooDropped = 0;       // out-of-order segments not queued (no room for one more range)
  dupAcksIn = 0;
  sackBlocksIn = 0;
  delayedAcks = 0;      // ACKs sent by the delayed-ACK timer
  quickAcks = 0;        // immediate ACKs for out-of-order data
  persistProbes = 0;
  noBuffer = 0;         // the link had no buffer for a segment; retried later
  timeWaitReused = 0;   // a new SYN took over a TIME_WAIT 4-tuple (RFC 6191)
  timeWaitOverflow = 0; // closed without TIME_WAIT: maxTimeWait were held (Linux's TCPTimeWaitOverflow)
  ackTooNew = 0;        // ACK for data never sent (RFC 5961 5.2)
}

/** Per-connection counters. */
export class ConnCounters {
  segsIn = 0;
  segsOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  retransSegs = 0;
  dupAcksIn = 0;
  recoveries = 0;
  rtoExpired = 0;
  oooSegs = 0;
  writeShort = 0;       // writes that took less than offered (back-pressure)
}
