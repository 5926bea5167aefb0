/** Every metric Mirrorstore exports, in one registry (prom-client). Labels are bounded: never a bucket, key or address. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { MIRROR_FAILURE_REASONS, type MirrorFailureReason } from '../mirror/failures.js'
import type { HotOutcome } from '../store/embedded/hot-bodies.js'

const HOT_OUTCOMES: readonly HotOutcome[] = ['hit', 'joined', 'loaded', 'bypassed']

export type MirrorOutcome = 'hit' | 'filled' | 'coalesced' | 'transparent' | 'redirect' | MirrorFailureReason

export const MIRROR_OUTCOMES: readonly MirrorOutcome[] = ['hit', 'filled', 'coalesced', 'transparent', 'redirect', ...MIRROR_FAILURE_REASONS]

export class Metrics {
  readonly registry = new Registry()
  readonly mirrorOutcomes: Counter<'outcome'>
  readonly originDuration: Histogram<'result'>
  readonly originBytes: Counter
  readonly requests: Counter<'op' | 'status'>
  readonly hotReads: Counter<'outcome'>
  readonly hotHeld: Gauge
  /** Where the held-bytes gauge reads its value when scraped (the serving process sets it). */
  hotHeldSource: () => number = () => 0

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'mirrorstore_process_' })
    this.mirrorOutcomes = new Counter({
      name: 'mirrorstore_mirror_outcomes_total',
      help: 'Mirror results by outcome: hit, filled, coalesced, transparent, redirect, or one per MirrorFailed message',
      labelNames: ['outcome'],
      registers: [this.registry],
    })
    for (const outcome of MIRROR_OUTCOMES) this.mirrorOutcomes.inc({ outcome }, 0)
    this.originDuration = new Histogram({
      name: 'mirrorstore_mirror_origin_duration_seconds',
      help: 'One observation per origin attempt, from the request to the end of the body',
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [this.registry],
    })
    this.originBytes = new Counter({
      name: 'mirrorstore_mirror_origin_bytes_total',
      help: 'Body bytes received from mirror origins',
      registers: [this.registry],
    })
    this.requests = new Counter({
      name: 'mirrorstore_http_requests_total',
      help: 'Requests answered, by OSS operation and status code',
      labelNames: ['op', 'status'],
      registers: [this.registry],
    })
    this.hotReads = new Counter({
      name: 'mirrorstore_store_hot_reads_total',
      help: 'Reads offered to the hot-body cache: hit (in memory), joined (waited for a load in flight), loaded (read the blob file), bypassed (not admitted: streamed)',
      labelNames: ['outcome'],
      registers: [this.registry],
    })
    for (const outcome of HOT_OUTCOMES) this.hotReads.inc({ outcome }, 0)
    const held = (): number => this.hotHeldSource()
    this.hotHeld = new Gauge({
      collect(): void {
        this.set(held())
      },
      name: 'mirrorstore_store_hot_held_bytes',
      help: 'Bytes the hot-body cache keeps alive (entries, loads in flight, dropped entries still being sent)',
      registers: [this.registry],
    })
  }
}
