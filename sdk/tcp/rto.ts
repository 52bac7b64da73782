// Retransmission timeout per RFC 6298: SRTT/RTTVAR smoothing (alpha 1/8,
// beta 1/4), RTO = SRTT + max(G, 4 RTTVAR) clamped to [min, max], doubled
// on each expiry (backoff) and recomputed from the next valid sample.

export class Rto {
  srtt = 0;
  rttvar = 0;
  /** Samples taken (srtt is meaningful once there is one, even a 0 ms one). */
  samples = 0;
  /** The current timeout, backoff included (ms). */
  rto: number;
  /** How many times the timer expired since the last new ACK. */
  backoff = 0;
  private base: number;
  constructor(private readonly initial: number, private readonly min: number, private readonly max: number) {
    this.rto = initial; this.base = initial;
  }
  /** A round-trip sample in ms (Karn: never from a retransmitted segment). */
  sample(r: number): void {
    if (r < 0) return;
    this.samples++;
    if (this.srtt === 0) { this.srtt = r; this.rttvar = r / 2; }
    else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    // Clock granularity G is 1 ms (timestamps tick in ms).
    this.base = Math.min(this.max, Math.max(this.min, this.srtt + Math.max(1, 4 * this.rttvar)));
    this.backoff = 0;
    this.rto = this.base;
  }
  /** The timer expired: double (5.5), up to max. */
  expired(): void {
    this.backoff++;
    this.rto = Math.min(this.max, this.rto * 2);
  }
  /** New data was acknowledged: drop the backoff (5.7 keeps it until a
   *  sample; a new ACK ends the doubt, as Linux does). */
  acked(): void { this.backoff = 0; this.rto = this.base; }
  reset(): void { this.srtt = 0; this.rttvar = 0; this.samples = 0; this.base = this.initial; this.rto = this.initial; this.backoff = 0; }
}
