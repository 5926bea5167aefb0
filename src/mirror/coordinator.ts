/**
 * Who fills a key, and whether a new fill is within QoS, decided once for the whole server.
 * With one process, LocalCoordinator decides in place. With --workers, the primary process owns
 * the decisions (PrimaryCoordinator) and each worker asks it over the cluster IPC channel
 * (WorkerCoordinator), so concurrent misses of one key in different workers still make one origin
 * fetch, and the QoS budget is shared by all workers.
 */
import type { MirrorFailureReason } from './failures.js'
import { MirrorQos, type QosLimits } from './qos.js'

/** How a fill ended, as joiners in other processes need to know it. */
export type FillOutcome =
  | { readonly kind: 'committed' }
  | { readonly kind: 'failed'; readonly reason: MirrorFailureReason; readonly ec: string | undefined }
  | { readonly kind: 'redirect'; readonly location: string }
  | { readonly kind: 'transparent'; readonly status: number; readonly contentType: string | undefined; readonly body: Buffer }

export type Claim =
  /** This process runs the fill and must settle() it. */
  | { readonly kind: 'owner' }
  /** Another process runs it; its outcome arrives here. */
  | { readonly kind: 'join'; readonly outcome: Promise<FillOutcome> }
  /** Over the QoS budget: no fill. */
  | { readonly kind: 'rejected' }

export interface FillCoordinator {
  /** Claims the fill of `id` for this process, joins the one running elsewhere, or is refused by QoS. */
  claim(id: string): Promise<Claim>
  /** The owner reports how its fill ended. */
  settle(id: string, outcome: FillOutcome): void
  /** Debits origin body bytes from the shared bandwidth budget. */
  consume(bytes: number): void
}

/** One process: every claim is owned here (same-process joins happen in the engine). */
export class LocalCoordinator implements FillCoordinator {
  private readonly qos: MirrorQos

  constructor(qos: MirrorQos) {
    this.qos = qos
  }

  claim(): Promise<Claim> {
    return Promise.resolve(this.qos.admit() ? { kind: 'owner' } : { kind: 'rejected' })
  }

  settle(): void {
    // Nobody outside this process waits.
  }

  consume(bytes: number): void {
    this.qos.consume(bytes)
  }
}

// ── cluster protocol ──

interface ClaimMessage {
  readonly mirrorstore: 'claim'
  readonly seq: number
  readonly id: string
}
interface SettleMessage {
  readonly mirrorstore: 'settle'
  readonly id: string
  readonly outcome: WireOutcome
}
interface ConsumeMessage {
  readonly mirrorstore: 'consume'
  readonly bytes: number
}
interface ClaimReply {
  readonly mirrorstore: 'claimed'
  readonly seq: number
  readonly kind: 'owner' | 'join' | 'rejected'
}
interface OutcomeMessage {
  readonly mirrorstore: 'outcome'
  readonly id: string
  readonly outcome: WireOutcome
}
type WireOutcome = Exclude<FillOutcome, { kind: 'transparent' }> | { kind: 'transparent'; status: number; contentType: string | undefined; body: string }

/** Several messages sent in one IPC write (see batched()). */
interface BatchMessage {
  readonly mirrorstore: 'batch'
  readonly messages: readonly SingleMessage[]
}
type SingleMessage = ClaimMessage | SettleMessage | ConsumeMessage | ClaimReply | OutcomeMessage
export type CoordinatorMessage = SingleMessage | BatchMessage

function toWire(outcome: FillOutcome): WireOutcome {
  return outcome.kind === 'transparent' ? { ...outcome, body: outcome.body.toString('base64') } : outcome
}

function fromWire(outcome: WireOutcome): FillOutcome {
  return outcome.kind === 'transparent' ? { ...outcome, body: Buffer.from(outcome.body, 'base64') } : outcome
}

const COORDINATOR_KINDS: ReadonlySet<string> = new Set(['claim', 'settle', 'consume', 'claimed', 'outcome', 'batch'])

export function isCoordinatorMessage(m: unknown): m is CoordinatorMessage {
  const kind = typeof m === 'object' && m !== null ? (m as { mirrorstore?: unknown }).mirrorstore : undefined
  return typeof kind === 'string' && COORDINATOR_KINDS.has(kind)
}

/** The channel to one process: what cluster's Worker (in the primary) and `process` (in a worker) both offer. */
export interface Channel {
  send(message: CoordinatorMessage): void
}

/**
 * Every IPC write is a syscall that wakes the other process; under load a worker has several
 * claims and settles in one turn of its event loop. This sends each turn's messages, in order, as
 * one write (at setImmediate, right after the I/O that produced them).
 */
function batched(channel: Channel): (m: SingleMessage) => void {
  let queue: SingleMessage[] = []
  const flush = (): void => {
    const q = queue
    queue = []
    channel.send(q.length === 1 ? (q[0] as SingleMessage) : { mirrorstore: 'batch', messages: q })
  }
  return (m) => {
    if (queue.push(m) === 1) setImmediate(flush)
  }
}

/** Lives in the primary: owns the QoS buckets and the table of fills in flight across workers. */
export class PrimaryCoordinator {
  private readonly qos: MirrorQos
  /** fill id → owner and the workers waiting for its outcome. */
  private readonly fills = new Map<string, { owner: number; waiters: Set<number> }>()
  private readonly channels = new Map<number, (m: SingleMessage) => void>()

  constructor(limits: QosLimits) {
    this.qos = new MirrorQos(limits)
  }

  attach(workerId: number, channel: Channel): void {
    this.channels.set(workerId, batched(channel))
  }

  /** A worker died: its fills end failed for everyone waiting on them. */
  detach(workerId: number): void {
    this.channels.delete(workerId)
    for (const [id, fill] of this.fills) {
      fill.waiters.delete(workerId)
      if (fill.owner === workerId) this.finish(id, { kind: 'failed', reason: 'config_failed', ec: undefined })
    }
  }

  handle(workerId: number, message: CoordinatorMessage): void {
    switch (message.mirrorstore) {
      case 'batch':
        for (const m of message.messages) this.handle(workerId, m)
        return
      case 'claim': {
        const running = this.fills.get(message.id)
        let kind: ClaimReply['kind']
        if (running !== undefined) {
          running.waiters.add(workerId)
          kind = 'join'
        } else if (this.qos.admit()) {
          this.fills.set(message.id, { owner: workerId, waiters: new Set() })
          kind = 'owner'
        } else kind = 'rejected'
        this.channels.get(workerId)?.({ mirrorstore: 'claimed', seq: message.seq, kind })
        return
      }
      case 'settle':
        if (this.fills.get(message.id)?.owner === workerId) this.finish(message.id, fromWire(message.outcome))
        return
      case 'consume':
        this.qos.consume(message.bytes)
        return
      case 'claimed':
      case 'outcome':
        return
    }
  }

  private finish(id: string, outcome: FillOutcome): void {
    const fill = this.fills.get(id)
    if (fill === undefined) return
    this.fills.delete(id)
    const wire = toWire(outcome)
    for (const waiter of fill.waiters) this.channels.get(waiter)?.({ mirrorstore: 'outcome', id, outcome: wire })
  }
}

/** Lives in a worker: asks the primary. */
export class WorkerCoordinator implements FillCoordinator {
  private readonly send: (m: SingleMessage) => void
  private seq = 0
  private readonly pendingClaims = new Map<number, { id: string; resolve: (c: Claim) => void }>()
  private readonly joins = new Map<string, Array<(o: FillOutcome) => void>>()
  private unsentBytes = 0
  private flushTimer: NodeJS.Timeout | undefined

  constructor(channel: Channel) {
    this.send = batched(channel)
  }

  /** Feed every message the primary sends to this worker. */
  handle(message: CoordinatorMessage): void {
    if (message.mirrorstore === 'batch') {
      for (const m of message.messages) this.handle(m)
    } else if (message.mirrorstore === 'claimed') {
      const pending = this.pendingClaims.get(message.seq)
      if (pending === undefined) return
      this.pendingClaims.delete(message.seq)
      if (message.kind === 'join') {
        const outcome = new Promise<FillOutcome>((resolve) => {
          const list = this.joins.get(pending.id) ?? []
          list.push(resolve)
          this.joins.set(pending.id, list)
        })
        pending.resolve({ kind: 'join', outcome })
      } else pending.resolve({ kind: message.kind })
    } else if (message.mirrorstore === 'outcome') {
      const list = this.joins.get(message.id)
      this.joins.delete(message.id)
      const outcome = fromWire(message.outcome)
      for (const resolve of list ?? []) resolve(outcome)
    }
  }

  claim(id: string): Promise<Claim> {
    const seq = ++this.seq
    return new Promise((resolve) => {
      this.pendingClaims.set(seq, { id, resolve })
      this.send({ mirrorstore: 'claim', seq, id })
    })
  }

  settle(id: string, outcome: FillOutcome): void {
    this.send({ mirrorstore: 'settle', id, outcome: toWire(outcome) })
  }

  /** Batched: origin bytes reach the primary at most every 20 ms. */
  consume(bytes: number): void {
    this.unsentBytes += bytes
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined
      const n = this.unsentBytes
      this.unsentBytes = 0
      if (n > 0) this.send({ mirrorstore: 'consume', bytes: n })
    }, 20)
  }
}
