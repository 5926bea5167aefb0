/**
 * Mirror QoS (mirror-rules.md B10): two server-wide token buckets, fills per second and origin
 * bits per second. Each holds at most one second of budget and starts full. A new fill needs one
 * fill token and a non-negative byte budget; bytes are debited as they arrive and may drive the
 * byte budget into debt. A limit of 0 turns that bucket off. Hits and joiners are free.
 */

class TokenBucket {
  private readonly rate: number
  private tokens: number
  private last: number
  private readonly now: () => number

  /** `rate` tokens per second; capacity is one second of rate. */
  constructor(rate: number, now: () => number) {
    this.rate = rate
    this.tokens = rate
    this.now = now
    this.last = now()
  }

  private refill(): void {
    const t = this.now()
    const elapsed = Math.max(0, t - this.last) / 1000
    this.last = t
    this.tokens = Math.min(this.rate, this.tokens + elapsed * this.rate)
  }

  available(): number {
    this.refill()
    return this.tokens
  }

  take(n: number): void {
    this.refill()
    this.tokens -= n
  }
}

export interface QosLimits {
  /** Fills per second; 0 = unlimited. */
  readonly qps: number
  /** Origin bits per second; 0 = unlimited. */
  readonly bandwidthBitsPerSecond: number
}

export class MirrorQos {
  private readonly fills: TokenBucket | undefined
  private readonly bytes: TokenBucket | undefined

  constructor(limits: QosLimits, now: () => number = () => performance.now()) {
    this.fills = limits.qps > 0 ? new TokenBucket(limits.qps, now) : undefined
    this.bytes = limits.bandwidthBitsPerSecond > 0 ? new TokenBucket(limits.bandwidthBitsPerSecond / 8, now) : undefined
  }

  /** Admits a new fill (taking its token), or returns false: over budget. */
  admit(): boolean {
    if (this.fills !== undefined && this.fills.available() < 1) return false
    if (this.bytes !== undefined && this.bytes.available() < 0) return false
    this.fills?.take(1)
    return true
  }

  /** Debits origin body bytes as they arrive (may go into debt; admitted fills are never cut). */
  consume(bytes: number): void {
    this.bytes?.take(bytes)
  }
}
