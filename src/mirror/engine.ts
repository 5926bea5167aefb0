/**
 * The fill engine (mirror-rules.md B6–B10): one fill per (bucket, key) at a time, QoS on new
 * fills, the origin fetch, staging to a temp blob while readers may follow it, the length / MD5
 * checks, and an atomic commit only if the key is still absent. A fill ends committed or discarded,
 * never partial. No HTTP responses here: api/handlers/mirror.ts serves what a fill yields.
 */
import { setMaxListeners } from 'node:events'
import type { Readable } from 'node:stream'
import type { Logger } from 'pino'
import type { HeaderList } from '../auth/types.js'
import type { Metrics, MirrorOutcome } from '../metrics/metrics.js'
import { isStoreError } from '../store/errors.js'
import type { Bucket, ObjectAttributes, ObjectRecord, ObjectStore, StagingBlob, StoredHeaderName } from '../store/types.js'
import { MirrorFailure, type MirrorEc } from './failures.js'
import type { OriginClient, OriginResult } from './origin.js'
import type { Claim, FillCoordinator, FillOutcome } from './coordinator.js'
import { originHeaders, originKey, originQuery, originUrl, type MirrorRedirect, type RoutingRule } from './rules.js'

/** The largest object a fill may store (the OSS object maximum for a single PUT). */
export const MAX_FILL_SIZE = 5 * 1024 ** 3
/** Origin bytes that may wait for the staging write in progress before reading pauses. */
const MAX_PENDING = 4 * 1024 * 1024
/** User metadata of 8,192 bytes or more (PutObject's measure) is refused: "Meta is too large." */
const USER_META_LIMIT = 8192

export interface MirrorSettings {
  /** Objects up to this many bytes are verified before the first byte goes to the client. */
  readonly verifyLimit: number
  readonly userAgent: string
}

/** What the client-facing side can do once a fill has got that far. */
export type FillHead =
  /** Read-while-fill may start: `contentLength` undefined means chunked. */
  | { readonly kind: 'stream'; readonly contentLength: number | undefined; readonly attributes: ObjectAttributes }
  /** The object is committed and verified. */
  | { readonly kind: 'verified'; readonly object: ObjectRecord }
  /** MirrorFollowRedirect off: answer 302 with the origin's Location; nothing stored. */
  | { readonly kind: 'redirect'; readonly location: string }
  /** A status listed in TransparentMirrorResponseCodes: passed through; nothing stored. */
  | { readonly kind: 'transparent'; readonly status: number; readonly contentType: string | undefined; readonly body: Buffer }

export interface FillRequest {
  readonly requestId: string
  readonly rawQuery: string
  readonly headers: HeaderList
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  // Waiters attach their own handlers; an unobserved rejection is not an error here.
  promise.catch(() => undefined)
  return { promise, resolve, reject }
}

/** One in-flight fill, shared by every request that misses the key meanwhile. */
export class Fill {
  readonly bucket: string
  readonly key: string
  /** Resolves as soon as the client-facing decision is possible; rejects with MirrorFailure. */
  readonly head: Promise<FillHead>
  /** Resolves with the committed object (undefined for redirect/transparent); rejects with MirrorFailure. */
  readonly done: Promise<ObjectRecord | undefined>
  joiners = 0
  streamed = false
  private staging: StagingBlob | undefined
  private headSettled = false
  private readonly headD = deferred<FillHead>()
  private readonly doneD = deferred<ObjectRecord | undefined>()

  constructor(bucket: string, key: string) {
    this.bucket = bucket
    this.key = key
    this.head = this.headD.promise
    this.done = this.doneD.promise
  }

  /** Bytes [start, end] of the object being filled, as the fill releases them. Only after a `stream` head. */
  tail(start: number, end?: number): Readable {
    if (this.staging === undefined) throw new Error('Fill has no staged body to tail')
    return this.staging.tail(start, end)
  }

  /** @internal */
  setStaging(staging: StagingBlob): void {
    this.staging = staging
  }

  /** @internal */
  resolveHead(head: FillHead): void {
    if (this.headSettled) return
    this.headSettled = true
    if (head.kind === 'stream') this.streamed = true
    this.headD.resolve(head)
  }

  /** @internal */
  finish(object: ObjectRecord | undefined): void {
    if (object !== undefined) this.resolveHead({ kind: 'verified', object })
    this.doneD.resolve(object)
  }

  /** @internal */
  fail(failure: MirrorFailure): void {
    if (!this.headSettled) {
      this.headSettled = true
      this.headD.reject(failure)
    }
    this.doneD.reject(failure)
  }
}

const SAVED_HEADERS: readonly StoredHeaderName[] = [
  'content-type',
  'content-encoding',
  'content-disposition',
  'cache-control',
  'expires',
  'content-language',
  'access-control-allow-origin',
]

function firstHeader(headers: Readonly<Record<string, string | string[]>>, name: string): string | undefined {
  const v = headers[name]
  return Array.isArray(v) ? v[0] : v
}

/** A value Node could send back as a header: no control characters, latin1 only. */
function sendable(v: string): boolean {
  return /^[\t\x20-\x7e\x80-\xff]*$/.test(v)
}

/** B9: what is saved of the origin's headers; throws meta_too_large from the headers alone. */
export function savedAttributes(headers: Readonly<Record<string, string | string[]>>, mirror: MirrorRedirect, bucket: Bucket): ObjectAttributes {
  const saved: Partial<Record<StoredHeaderName, string>> = {}
  for (const name of SAVED_HEADERS) {
    const v = firstHeader(headers, name)
    if (v !== undefined && sendable(v)) saved[name] = v
  }
  if (saved['content-type'] === undefined) saved['content-type'] = 'application/octet-stream'
  const userMeta: Array<[string, string]> = []
  if (mirror.saveOssMeta) {
    let size = 0
    for (const [name, value] of Object.entries(headers)) {
      if (!name.startsWith('x-oss-meta-')) continue
      const short = name.slice('x-oss-meta-'.length).toLowerCase()
      const v = Array.isArray(value) ? value.join(',') : value
      size += name.length + Buffer.byteLength(v, 'latin1')
      if (!/^[a-z0-9-]+$/.test(short) || !sendable(v)) continue
      userMeta.push([short, v])
    }
    if (size >= USER_META_LIMIT) throw new MirrorFailure('meta_too_large', `origin x-oss-meta-* total ${size} bytes`)
  }
  let lastModifiedOverride: Date | undefined
  if (mirror.userLastModified) {
    const lm = firstHeader(headers, 'last-modified')
    const t = lm === undefined ? NaN : Date.parse(lm)
    if (!Number.isNaN(t)) lastModifiedOverride = new Date(t)
  }
  return { headers: saved, userMeta, acl: 'default', storageClass: bucket.storageClass, tagging: undefined, mirrored: true, lastModifiedOverride }
}

/** A relative origin Location made absolute against the URL that answered it. */
function absoluteLocation(location: string, base: string): string {
  try {
    return new URL(location, base).href
  } catch {
    return location
  }
}

/** The single-flight key of (bucket, key). */
function fillId(bucket: string, key: string): string {
  return `${bucket}\u0000${key}`
}

/** Origin URL without user-info or query, for logs. */
function loggableUrl(url: string): string {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}${u.pathname}`
  } catch {
    return '(unparseable)'
  }
}

export class MirrorEngine {
  private readonly inflight = new Map<string, Fill>()
  private readonly store: ObjectStore
  private readonly origin: OriginClient
  private readonly coordinator: FillCoordinator
  private readonly metrics: Metrics
  private readonly log: Logger
  private readonly settings: MirrorSettings
  /** Cancels every fill at shutdown. */
  private readonly shutdown = new AbortController()

  constructor(deps: { store: ObjectStore; origin: OriginClient; coordinator: FillCoordinator; metrics: Metrics; log: Logger; settings: MirrorSettings }) {
    this.store = deps.store
    this.origin = deps.origin
    this.coordinator = deps.coordinator
    this.metrics = deps.metrics
    this.log = deps.log
    this.settings = deps.settings
    // Every origin request in flight listens on this one signal.
    setMaxListeners(0, this.shutdown.signal)
  }

  get verifyLimit(): number {
    return this.settings.verifyLimit
  }

  count(outcome: MirrorOutcome): void {
    this.metrics.mirrorOutcomes.inc({ outcome })
  }

  /**
   * Starts the fill for a miss that matched `rule`, or joins the one in flight in this process (no
   * fetch, no QoS token). A new fill first claims the key from the coordinator: over the QoS budget
   * it fails with qos_rejected; if another worker is already filling the key, this one waits for
   * that outcome and then serves the committed object (no read-while-fill across workers).
   */
  fill(bucket: Bucket, key: string, rule: RoutingRule, request: FillRequest): { fill: Fill; joined: boolean } {
    const id = fillId(bucket.name, key)
    const existing = this.inflight.get(id)
    if (existing !== undefined) {
      existing.joiners++
      this.count('coalesced')
      return { fill: existing, joined: true }
    }
    const mirror = rule.mirror
    if (mirror === undefined) throw new Error('fill() needs a Mirror rule')
    const fill = new Fill(bucket.name, key)
    this.inflight.set(id, fill)
    void this.start(id, fill, bucket, rule, mirror, request).finally(() => this.settled(id, fill))
    return { fill, joined: false }
  }

  private async start(id: string, fill: Fill, bucket: Bucket, rule: RoutingRule, mirror: MirrorRedirect, request: FillRequest): Promise<void> {
    let claim: Claim
    try {
      claim = await this.coordinator.claim(id)
    } catch (err) {
      fill.fail(new MirrorFailure('config_failed', 'fill coordination failed', { cause: err }))
      return
    }
    switch (claim.kind) {
      case 'rejected':
        this.count('qos_rejected')
        fill.fail(new MirrorFailure('qos_rejected', 'over the mirror QPS or bandwidth budget'))
        return
      case 'join':
        this.count('coalesced')
        await this.joinElsewhere(fill, bucket, claim.outcome)
        return
      case 'owner':
        await this.run(fill, bucket, rule, mirror, request)
        return
    }
  }

  /** Another worker runs the fill: wait for its outcome and settle this process's joiners with it. */
  private async joinElsewhere(fill: Fill, bucket: Bucket, pending: Promise<FillOutcome>): Promise<void> {
    const outcome = await pending
    switch (outcome.kind) {
      case 'committed': {
        const object = this.store.findObject(bucket.name, fill.key)
        if (object === undefined) fill.fail(new MirrorFailure('config_failed', 'the object filled by another worker is gone'))
        else fill.finish(object)
        return
      }
      case 'failed':
        fill.fail(new MirrorFailure(outcome.reason, 'fill failed in another worker', outcome.ec === undefined ? {} : { ec: outcome.ec as MirrorEc }))
        return
      case 'redirect':
        fill.resolveHead({ kind: 'redirect', location: outcome.location })
        fill.finish(undefined)
        return
      case 'transparent':
        fill.resolveHead({ kind: 'transparent', status: outcome.status, contentType: outcome.contentType, body: outcome.body })
        fill.finish(undefined)
        return
    }
  }

  private async run(fill: Fill, bucket: Bucket, rule: RoutingRule, mirror: MirrorRedirect, request: FillRequest): Promise<void> {
    const started = performance.now()
    // B12: one duration observation per origin attempt (primary, then secondary), from its first
    // request (redirect hops included) to the end of its body or its failure.
    let attemptStarted = started
    let finalObserved = false
    const observeFinal = (r: 'ok' | 'error'): void => {
      if (finalObserved) return
      finalObserved = true
      this.metrics.originDuration.observe({ result: r }, (performance.now() - attemptStarted) / 1000)
    }
    let staging: StagingBlob | undefined
    let result: OriginResult | undefined
    let url = ''
    let bytes = 0
    let outcome: MirrorOutcome = 'filled'
    let failure: MirrorFailure | undefined
    let cleanup: Promise<void> | undefined
    let settleWith: FillOutcome = { kind: 'committed' }
    try {
      const okey = originKey(rule, fill.key)
      const query = originQuery(mirror, request.rawQuery)
      const primary = originUrl(mirror.url, okey, mirror.passOriginalSlashes, query)
      const secondary = mirror.slaveUrl === undefined ? undefined : originUrl(mirror.slaveUrl, okey, mirror.passOriginalSlashes, query)
      if (primary === undefined) throw new MirrorFailure('config_failed', 'origin key has a dot segment')
      url = primary
      result = await this.origin.fetch({
        primaryUrl: primary,
        secondaryUrl: secondary,
        switchAllErrors: mirror.switchAllErrors,
        headers: originHeaders(mirror, request.headers, this.settings.userAgent),
        followRedirects: mirror.followRedirect,
        transparentCodes: mirror.transparentCodes,
        signal: this.shutdown.signal,
      })
      // Hops before the last: redirects belong to their attempt; a transport failure or a
      // non-redirect status ended the primary, which failed over.
      let hopsMs = 0
      for (const hop of result.attempts.slice(0, -1)) {
        hopsMs += hop.ms
        if (hop.error !== undefined || (hop.status !== undefined && (hop.status < 300 || hop.status > 399))) {
          this.metrics.originDuration.observe({ result: 'error' }, (started + hopsMs - attemptStarted) / 1000)
          attemptStarted = started + hopsMs
        }
      }
      if (result.kind === 'redirect') {
        outcome = 'redirect'
        observeFinal('ok')
        settleWith = { kind: 'redirect', location: absoluteLocation(result.location, result.attempts.at(-1)?.url ?? primary) }
        fill.resolveHead(settleWith)
        fill.finish(undefined)
        return
      }
      if (result.kind === 'transparent') {
        outcome = 'transparent'
        observeFinal('ok')
        bytes = result.body.length
        this.metrics.originBytes.inc(bytes)
        settleWith = { kind: 'transparent', status: result.status, contentType: result.contentType, body: result.body }
        fill.resolveHead(settleWith)
        fill.finish(undefined)
        return
      }
      url = result.finalUrl
      const body = result.body
      const attributes = savedAttributes(result.headers, mirror, bucket)
      const contentLength = result.contentLength
      staging = await this.store.openStaging({ maxSize: MAX_FILL_SIZE, expectedSize: contentLength })
      fill.setStaging(staging)
      if (contentLength !== undefined && contentLength > this.settings.verifyLimit) {
        fill.resolveHead({ kind: 'stream', contentLength, attributes })
      }
      // One staging write at a time; origin chunks that arrive meanwhile are gathered and written
      // together next (one writev, no copy), so origin reads, hashing and disk writes overlap.
      // Reading pauses while more than MAX_PENDING bytes wait.
      const stagingFile = staging
      let batch: Buffer[] = []
      let batchBytes = 0
      let writing: Promise<void> | undefined
      let writeError: Error | undefined
      const pump = (): void => {
        if (writing !== undefined || batchBytes === 0 || writeError !== undefined) return
        const data = batch
        batch = []
        batchBytes = 0
        writing = stagingFile.write(data).then(
          () => {
            writing = undefined
            // The final bytes are held back until the commit succeeds.
            stagingFile.release(contentLength === undefined ? stagingFile.size : Math.min(stagingFile.size, contentLength - 1), false)
            if (contentLength === undefined && stagingFile.size > this.settings.verifyLimit) {
              fill.resolveHead({ kind: 'stream', contentLength: undefined, attributes })
            }
            pump()
          },
          (err: unknown) => {
            writing = undefined
            writeError = err instanceof Error ? err : new Error(String(err))
          },
        )
      }
      const drained = async (): Promise<void> => {
        while (writing !== undefined && batchBytes > MAX_PENDING) await writing
        if (writeError !== undefined) throw writeError
      }
      try {
        for await (const chunk of body) {
          const buf = chunk as Buffer
          bytes += buf.length
          this.coordinator.consume(buf.length)
          this.metrics.originBytes.inc(buf.length)
          batch.push(buf)
          batchBytes += buf.length
          pump()
          await drained()
        }
        while (writing !== undefined || batchBytes > 0) {
          pump()
          if (writing !== undefined) await writing
          if (writeError !== undefined) throw writeError
        }
      } catch (err) {
        if (err instanceof MirrorFailure) throw err
        if (isStoreError(err, 'BodyTooLarge')) throw new MirrorFailure('config_failed', 'origin body over the object size limit', { cause: err })
        throw new MirrorFailure('read_body_failed', 'origin body stream failed', { cause: err })
      }
      if (contentLength !== undefined && staging.size !== contentLength) throw new MirrorFailure('bytes_mismatch', `got ${staging.size} of ${contentLength} bytes`)
      const staged = await staging.finish()
      observeFinal('ok')
      if (mirror.checkMd5) {
        const declared = firstHeader(result.headers, 'content-md5')
        if (declared !== undefined && declared.trim() !== staged.md5.toString('base64')) {
          await staged.discard()
          throw new MirrorFailure('md5_mismatch', 'origin Content-MD5 differs from the body')
        }
      }
      let object: ObjectRecord
      try {
        object = this.store.putObject(bucket.name, fill.key, staged, attributes, { mustBeAbsent: true })
      } catch (err) {
        await staged.discard()
        if (isStoreError(err, 'ObjectExists')) throw new MirrorFailure('already_exists', 'a client wrote the key during the fill', { cause: err })
        if (isStoreError(err, 'ObjectImmutable')) throw new MirrorFailure('immutable', 'a protected object was written during the fill', { cause: err })
        throw new MirrorFailure('config_failed', 'commit failed', { cause: err })
      }
      staging.release(object.size, true)
      fill.finish(object)
    } catch (err) {
      failure = err instanceof MirrorFailure ? err : new MirrorFailure('config_failed', 'fill failed', { cause: err })
      outcome = failure.reason
      settleWith = { kind: 'failed', reason: failure.reason, ec: failure.ec }
      // Covers a fetch that failed and a body that failed (or failed its checks) after the headers.
      observeFinal('error')
      if (result?.kind === 'body') result.body.destroy()
      // abort() fails the readers at once; its file cleanup is awaited only after the outcome is
      // counted and logged, so a client that saw its response aborted also sees the failure counted.
      if (staging !== undefined) cleanup = staging.abort(failure)
      fill.fail(failure)
    } finally {
      this.count(outcome)
      const line = {
        reqId: request.requestId,
        bucket: bucket.name,
        key: fill.key,
        rule: rule.ruleNumber,
        origin: loggableUrl(url),
        attempts: result?.attempts.length ?? 0,
        status: result?.kind === 'body' ? result.status : result?.kind === 'transparent' ? result.status : undefined,
        outcome,
        ec: failure?.ec,
        bytes,
        ms: Math.round(performance.now() - started),
        streamed: fill.streamed,
        joiners: fill.joiners,
      }
      if (failure === undefined) this.log.info(line, 'Mirror fill done')
      else this.log.warn({ ...line, detail: failure.message, cause: failure.cause instanceof Error ? failure.cause.message : undefined }, 'Mirror fill failed')
      // Settled before the cleanup is awaited: a miss arriving meanwhile must not join a dead fill.
      this.settled(fillId(fill.bucket, fill.key), fill)
      this.coordinator.settle(fillId(fill.bucket, fill.key), settleWith)
      await cleanup?.catch((err: unknown) => this.log.warn({ reqId: request.requestId, err }, 'Mirror staging cleanup failed'))
    }
  }

  /** Ends single flight for a settled fill: later misses start afresh instead of joining it. */
  private settled(id: string, fill: Fill): void {
    if (this.inflight.get(id) === fill) this.inflight.delete(id)
  }

  /** Cancels fills in flight (shutdown). */
  close(): void {
    this.shutdown.abort()
  }
}
