/** Every metric Mirrorstore exports, in one registry (prom-client). Labels are bounded: never a bucket, key or address. */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { MIRROR_FAILURE_REASONS, type MirrorFailureReason } from '../mirror/failures.js'

export type MirrorOutcome = 'hit' | 'filled' | 'coalesced' | 'transparent' | 'redirect' | MirrorFailureReason

export const MIRROR_OUTCOMES: readonly MirrorOutcome[] = ['hit', 'filled', 'coalesced', 'transparent', 'redirect', ...MIRROR_FAILURE_REASONS]

export class Metrics {
  readonly registry = new Registry()
  readonly mirrorOutcomes: Counter<'outcome'>
  readonly originDuration: Histogram<'result'>
  readonly originBytes: Counter
  readonly requests: Counter<'op' | 'status'>

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
  }
}
