/**
 * The origin request (mirror-rules.md B4, B5, B11): one GET with failover, redirects followed by
 * hand so the SSRF guard sees every hop, and a body stream that reports body-phase failures as
 * MirrorFailure.
 *
 * Connections: each undici `Client` holds one socket at a time (pipelining 1) and serves one of
 * our requests at a time, from a small idle list per origin. That 1:1 mapping is what lets a body
 * error be judged by what its own socket saw: undici 7 reports a clean close (FIN) before
 * Content-Length and a reset (RST) alike (UND_ERR_SOCKET, or UND_ERR_RES_CONTENT_LENGTH_MISMATCH
 * when the response said `Connection: close`), so our connector records on each socket whether
 * the peer sent FIN ('end') before any error.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { Transform, type Readable, type TransformCallback } from 'node:stream'
import { Client, buildConnector } from 'undici'
import { MIRROR_EC, MirrorFailure, type MirrorEc } from './failures.js'
import { SsrfRefused, checkLiteralHost, createGuardedLookup, type AddressPolicy, type GuardOptions, type Resolver } from './ssrf.js'

export interface OriginClientOptions {
  readonly connectTimeoutMs: number
  readonly readTimeoutMs: number
  readonly allowPrivate: boolean
  /** Test seam: which addresses the SSRF guard refuses (default: B4's ranges). */
  readonly refuseAddress?: AddressPolicy
  /** Test seam: name resolution (default: dns.lookup, all answers). */
  readonly resolve?: Resolver
}

export interface OriginAttempt {
  /** The URL requested, without query or user-info (safe to log). */
  readonly url: string
  readonly status?: number
  /** undici code or errno of a transport failure. */
  readonly error?: string
  /** From sending the request to its headers (or its failure). */
  readonly ms: number
}

export type OriginHeaders = Readonly<Record<string, string | string[]>>

export type OriginResult =
  | {
      readonly kind: 'body'
      readonly status: 200 | 206
      readonly headers: OriginHeaders
      /** Declared size of the whole object (Content-Length, or the total of a whole-object 206). */
      readonly contentLength: number | undefined
      /**
       * The object bytes. Body-phase failures arrive as a MirrorFailure 'error' (read_body_failed,
       * bytes_mismatch, or config_failed past 5 GiB); an abort of the request's signal arrives as
       * the signal's reason. The caller must consume or destroy it: that releases the connection.
       */
      readonly body: Readable
      readonly finalUrl: string
      readonly attempts: readonly OriginAttempt[]
    }
  | { readonly kind: 'redirect'; readonly location: string; readonly attempts: readonly OriginAttempt[] }
  | {
      readonly kind: 'transparent'
      readonly status: number
      readonly contentType: string | undefined
      readonly body: Buffer
      readonly attempts: readonly OriginAttempt[]
    }

export interface OriginRequest {
  readonly primaryUrl: string
  readonly secondaryUrl: string | undefined
  readonly switchAllErrors: boolean
  /** Headers to send (B4). Any `host` is ignored: each hop gets its own. */
  readonly headers: Readonly<Record<string, string>>
  readonly followRedirects: boolean
  readonly transparentCodes: ReadonlySet<number>
  readonly signal: AbortSignal
}

export const MAX_REDIRECTS = 10
export const MAX_OBJECT_SIZE = 5 * 1024 ** 3
export const MAX_TRANSPARENT_BODY = 1024 * 1024
/** Idle keep-alive connections kept per origin: enough for a busy migration's concurrent misses. */
const MAX_IDLE_PER_ORIGIN = 64
const MAX_HEADER_SIZE = 64 * 1024
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308])
/** Statuses that never switch to the secondary, even with MirrorSwitchAllErrors (B4). */
const KEEP_STATUSES: ReadonlySet<number> = new Set([200, 206, 301, 302, 303, 307, 404])

/** What a socket's peer did, recorded by our connector before undici sees it. */
interface SocketState {
  /** 'end' arrived (the peer sent FIN) before any socket error. */
  fin: boolean
  error: Error | undefined
}

/** The socket a Client currently holds, set by our connector on each (re)connect. */
interface Connection {
  socket: Socket | undefined
  state: SocketState | undefined
}

/** One undici Client: one connection, one of our requests at a time. */
interface Slot {
  readonly origin: string
  readonly client: Client
  readonly conn: Connection
}

/** Failures that let fetch() try the secondary origin (B4 "Switch"). */
const switchable = new WeakSet<MirrorFailure>()

function fail(reason: 'config_failed', detail: string, options: { ec?: MirrorEc; cause?: unknown; status?: number; canSwitch?: boolean } = {}) {
  const { canSwitch, ...rest } = options
  const failure = new MirrorFailure(reason, detail, rest)
  if (canSwitch === true) switchable.add(failure)
  return failure
}

function errorCode(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code
    if (typeof code === 'string') return code
    return err.name
  }
  return 'unknown'
}

const DNS_CODES: ReadonlySet<string> = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA', 'ENODATA', 'ESERVFAIL'])

/**
 * THE mapping of a transport failure before headers (errno, undici code, guard refusal) to a
 * MirrorFailure: message 1 with 108 (private address), 106 (DNS) or 104 (everything else:
 * refused, reset, unreachable, TLS, connect or header timeout, malformed response). All switch.
 */
function transportFailure(err: unknown, url: string): MirrorFailure {
  const code = errorCode(err)
  const detail = `origin ${url}: ${code}`
  if (err instanceof SsrfRefused) return fail('config_failed', detail, { ec: MIRROR_EC.privateAddress, cause: err, canSwitch: true })
  if (DNS_CODES.has(code)) return fail('config_failed', detail, { ec: MIRROR_EC.dns, cause: err, canSwitch: true })
  return fail('config_failed', detail, { ec: MIRROR_EC.unreachable, cause: err, canSwitch: true })
}

/**
 * THE mapping of a body-phase error. A FIN seen on the socket before any error means the origin
 * closed cleanly: short of Content-Length → bytes_mismatch; a chunked body without its last
 * chunk → read_body_failed. Anything else (RST, read timeout, parser error) → read_body_failed.
 */
function bodyFailure(err: unknown, state: SocketState | undefined, declared: number | undefined, url: string): MirrorFailure {
  const code = errorCode(err)
  if (code !== 'UND_ERR_BODY_TIMEOUT' && state?.fin === true && declared !== undefined) {
    return new MirrorFailure('bytes_mismatch', `origin ${url} closed before Content-Length ${declared}: ${code}`, { cause: err })
  }
  const seen = state?.fin === true ? 'FIN' : state?.error !== undefined ? errorCode(state.error) : 'none'
  return new MirrorFailure('read_body_failed', `origin ${url} body failed: ${code} (socket: ${seen})`, { cause: err })
}

function safeUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`
}

function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name]
  return Array.isArray(v) ? v[0] : v
}

function parseLength(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value.trim()) ? Number(value.trim()) : undefined
}

/** Content-Range of a 206 that covers the whole object: returns the object size. */
function wholeObjectRange(contentRange: string | undefined, contentLength: number | undefined): number | undefined {
  const m = contentRange === undefined ? null : /^bytes\s+(\d+)-(\d+)\/(\d+)$/i.exec(contentRange.trim())
  if (m === null) return undefined
  const [start, end, total] = [Number(m[1]), Number(m[2]), Number(m[3])]
  if (start !== 0 || end !== total - 1 || total === 0) return undefined
  if (contentLength !== undefined && contentLength !== total) return undefined
  return total
}

function shouldSwitch(status: number, switchAllErrors: boolean): boolean {
  return status >= 500 || (switchAllErrors && !KEEP_STATUSES.has(status))
}

function cleanHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = v
  return out
}

type BodyReadable = Awaited<ReturnType<Client['request']>>['body']

interface Response {
  readonly slot: Slot
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: BodyReadable
}

export class OriginClient {
  readonly #options: OriginClientOptions
  readonly #guard: GuardOptions
  readonly #idle = new Map<string, Slot[]>()
  readonly #all = new Set<Slot>()
  #closed = false

  constructor(options: OriginClientOptions) {
    this.#options = options
    this.#guard = {
      allowPrivate: options.allowPrivate,
      ...(options.refuseAddress === undefined ? {} : { refuse: options.refuseAddress }),
      ...(options.resolve === undefined ? {} : { resolve: options.resolve }),
    }
  }

  /**
   * Fetches with failover (B4): the primary, then the secondary when the primary fails before
   * its headers are accepted (transport failure, SSRF refusal, too many redirects, 5xx; with
   * switchAllErrors any status but 200, 206, 301, 302, 303, 307, 404). Never on 404 or once a
   * body is returned. Throws MirrorFailure (config_failed + EC) for every non-success (B5, B6),
   * or the signal's reason when aborted.
   */
  async fetch(request: OriginRequest): Promise<OriginResult> {
    const attempts: OriginAttempt[] = []
    const secondary = request.secondaryUrl
    if (secondary === undefined) return this.#attempt(request.primaryUrl, request, attempts, false)
    try {
      return await this.#attempt(request.primaryUrl, request, attempts, true)
    } catch (err) {
      if (!(err instanceof MirrorFailure) || !switchable.has(err) || request.signal.aborted) throw err
    }
    return this.#attempt(secondary, request, attempts, false)
  }

  /**
   * Runs one request through undici against a throwaway responder on 127.0.0.1, off any client's
   * path: a process's first undici request costs 10-15 ms more than later ones (code loaded and
   * compiled on first use), which the first fill of each worker paid before its headers. Never
   * through the SSRF guard and with a Client of its own, so it neither opens a hole in the guard
   * nor leaves a connection in the pool. Best effort: a failure is ignored.
   */
  async warmUp(): Promise<void> {
    const responder = createServer((socket) => {
      socket.on('error', () => undefined)
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok'))
    })
    let client: Client | undefined
    try {
      await new Promise<void>((resolve, reject) => {
        responder.once('error', reject)
        responder.listen(0, '127.0.0.1', resolve)
      })
      const { port } = responder.address() as AddressInfo
      const connector = buildConnector({ timeout: this.#options.connectTimeoutMs })
      client = new Client(`http://127.0.0.1:${String(port)}`, { pipelining: 1, connect: (opts, callback) => connector(opts, callback) })
      const res = await client.request({ method: 'GET', path: '/', signal: AbortSignal.timeout(this.#options.readTimeoutMs) })
      await res.body.text()
    } catch {
      // Only a warm-up: the first fill pays the cost instead.
    } finally {
      await client?.destroy().catch(() => undefined)
      responder.close()
    }
  }

  /** Destroys every connection, idle or busy. */
  async close(): Promise<void> {
    this.#closed = true
    this.#idle.clear()
    const slots = [...this.#all]
    this.#all.clear()
    await Promise.all(slots.map((s) => s.client.destroy().catch(() => undefined)))
  }

  async #attempt(startUrl: string, request: OriginRequest, attempts: OriginAttempt[], canSwitch: boolean): Promise<OriginResult> {
    let url: URL
    try {
      url = new URL(startUrl)
    } catch (err) {
      throw fail('config_failed', `invalid origin URL`, { cause: err })
    }
    for (let redirects = 0; ; ) {
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw fail('config_failed', `origin URL scheme "${url.protocol}" is not http(s)`, { canSwitch })
      }
      const started = performance.now()
      let res: Response
      try {
        res = await this.#send(url, request)
      } catch (err) {
        attempts.push({ url: safeUrl(url), error: errorCode(err), ms: performance.now() - started })
        if (request.signal.aborted) throw request.signal.reason
        throw transportFailure(err, safeUrl(url))
      }
      const { status, headers } = res
      attempts.push({ url: safeUrl(url), status, ms: performance.now() - started })
      const location = headerValue(headers, 'location')

      if (REDIRECT_STATUSES.has(status) && location !== undefined && request.followRedirects) {
        await this.#discard(res)
        redirects += 1
        if (redirects > MAX_REDIRECTS) {
          throw fail('config_failed', `more than ${MAX_REDIRECTS} redirects from ${startUrl}`, { canSwitch, status })
        }
        try {
          url = new URL(location, url)
        } catch (err) {
          throw fail('config_failed', `invalid redirect Location from ${safeUrl(url)}`, { cause: err, canSwitch, status })
        }
        continue
      }

      if (canSwitch && shouldSwitch(status, request.switchAllErrors)) {
        await this.#discard(res)
        throw fail('config_failed', `origin ${safeUrl(url)} answered ${status}`, { ec: MIRROR_EC.status, status, canSwitch })
      }

      if (REDIRECT_STATUSES.has(status) && location !== undefined) {
        await this.#discard(res)
        return { kind: 'redirect', location, attempts }
      }

      if (status === 200 || status === 206) return this.#bodyResult(res, url, attempts, request.signal)

      if (status >= 400 && status <= 599 && request.transparentCodes.has(status)) {
        return this.#transparentResult(res, url, attempts, request.signal)
      }

      await this.#discard(res)
      if (status === 404) throw fail('config_failed', `origin ${safeUrl(url)} answered 404`, { status })
      throw fail('config_failed', `origin ${safeUrl(url)} answered ${status}`, { ec: MIRROR_EC.status, status })
    }
  }

  #bodyResult(res: Response, url: URL, attempts: readonly OriginAttempt[], signal: AbortSignal): OriginResult {
    const { headers } = res
    const declared = parseLength(headerValue(headers, 'content-length'))
    let size = declared
    let status: 200 | 206 = 200
    if (res.status === 206) {
      status = 206
      size = wholeObjectRange(headerValue(headers, 'content-range'), declared)
      if (size === undefined) {
        this.#abandon(res)
        throw fail('config_failed', `origin ${safeUrl(url)} answered a partial 206`, { ec: MIRROR_EC.badRange, status: 206 })
      }
    }
    if (size !== undefined && size > MAX_OBJECT_SIZE) {
      this.#abandon(res)
      throw fail('config_failed', `origin ${safeUrl(url)} declares ${size} bytes, over the object maximum`, { status: res.status })
    }
    return {
      kind: 'body',
      status,
      headers: cleanHeaders(headers),
      contentLength: size,
      body: this.#guardBody(res, declared, safeUrl(url), signal),
      finalUrl: url.href,
      attempts,
    }
  }

  async #transparentResult(res: Response, url: URL, attempts: readonly OriginAttempt[], signal: AbortSignal): Promise<OriginResult> {
    const declared = parseLength(headerValue(res.headers, 'content-length'))
    const tooBig = () => fail('config_failed', `origin ${safeUrl(url)} ${res.status} body over ${MAX_TRANSPARENT_BODY} bytes`, { status: res.status })
    if (declared !== undefined && declared > MAX_TRANSPARENT_BODY) {
      this.#abandon(res)
      throw tooBig()
    }
    const chunks: Buffer[] = []
    let total = 0
    for await (const chunk of this.#guardBody(res, declared, safeUrl(url), signal)) {
      const buf = chunk as Buffer
      total += buf.length
      if (total > MAX_TRANSPARENT_BODY) throw tooBig()
      chunks.push(buf)
    }
    return { kind: 'transparent', status: res.status, contentType: headerValue(res.headers, 'content-type'), body: Buffer.concat(chunks), attempts }
  }

  /**
   * Wraps undici's body: counts bytes against Content-Length and the object maximum, turns
   * errors into MirrorFailure, and returns the connection when the body ends. Destroying the
   * returned stream destroys the origin body (and its connection).
   */
  #guardBody(res: Response, declared: number | undefined, url: string, signal: AbortSignal): Readable {
    const { body, slot } = res
    let count = 0
    const out = new Transform({
      transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
        count += chunk.length
        if (declared !== undefined && count > declared) {
          callback(new MirrorFailure('bytes_mismatch', `origin ${url} sent more than Content-Length ${declared}`))
        } else if (count > MAX_OBJECT_SIZE) {
          callback(fail('config_failed', `origin ${url} body passed the object maximum`))
        } else {
          callback(null, chunk)
        }
      },
    })
    // The caller may await other work (opening its staging file) before it reads, so the failure
    // can come while nobody listens: keep it from being an uncaught 'error'. The reader still gets
    // it, since iterating or piping a destroyed stream reports its stored error.
    out.on('error', () => undefined)
    let settled = false
    body.on('error', (err: Error) => {
      if (settled) return
      settled = true
      this.#drop(slot)
      out.destroy(signal.aborted ? (signal.reason as Error) : bodyFailure(err, slot.conn.state, declared, url))
    })
    body.on('end', () => {
      if (settled) return
      settled = true
      // Bytes past Content-Length never reach us: undici ends the message at the declared
      // length and then destroys the socket as it parses the surplus as a next response.
      const surplus = trailingGarbage(slot.conn)
      if (surplus) {
        this.#drop(slot)
        out.destroy(new MirrorFailure('bytes_mismatch', `origin ${url} sent more than Content-Length ${declared ?? '(none)'}`))
        return
      }
      this.#release(slot)
      out.end()
    })
    out.on('close', () => {
      if (!settled) {
        settled = true
        body.destroy()
        this.#drop(slot)
      }
    })
    body.pipe(out, { end: false })
    return out
  }

  async #send(url: URL, request: OriginRequest): Promise<Response> {
    if (this.#closed) throw new Error('OriginClient is closed')
    const slot = this.#acquire(url.origin)
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(request.headers)) if (k.toLowerCase() !== 'host') headers[k] = v
    try {
      const res = await slot.client.request({ method: 'GET', path: `${url.pathname}${url.search}`, headers, signal: request.signal })
      return { slot, status: res.statusCode, headers: res.headers, body: res.body }
    } catch (err) {
      this.#drop(slot)
      throw err
    }
  }

  /** Consumes a small unused body so the connection can be reused; big ones are cut. */
  async #discard(res: Response): Promise<void> {
    try {
      await res.body.dump({ limit: 64 * 1024 })
      this.#release(res.slot)
    } catch {
      this.#drop(res.slot)
    }
  }

  #abandon(res: Response): void {
    res.body.on('error', () => undefined)
    res.body.destroy()
    this.#drop(res.slot)
  }

  #acquire(origin: string): Slot {
    const reused = this.#idle.get(origin)?.pop()
    if (reused !== undefined) return reused
    const conn: Connection = { socket: undefined, state: undefined }
    const guard = this.#guard
    const base = buildConnector({ timeout: this.#options.connectTimeoutMs, lookup: createGuardedLookup(guard) })
    const client = new Client(origin, {
      pipelining: 1,
      headersTimeout: this.#options.readTimeoutMs,
      bodyTimeout: this.#options.readTimeoutMs,
      maxHeaderSize: MAX_HEADER_SIZE,
      connect: (opts, callback) => {
        // net.connect skips `lookup` for a literal IP, so the guard checks it here.
        try {
          checkLiteralHost(opts.hostname, guard)
        } catch (err) {
          callback(err as Error, null)
          return
        }
        base(opts, (err, socket) => {
          if (err !== null) {
            callback(err, null)
            return
          }
          // Registered before undici's own listeners, so these see the peer's FIN/RST first.
          const state: SocketState = { fin: false, error: undefined }
          socket.on('end', () => {
            if (state.error === undefined) state.fin = true
          })
          socket.on('error', (e: Error) => {
            state.error ??= e
          })
          conn.socket = socket
          conn.state = state
          callback(null, socket)
        })
      },
    })
    const slot: Slot = { origin, client, conn }
    this.#all.add(slot)
    return slot
  }

  #release(slot: Slot): void {
    if (this.#closed || slot.client.destroyed || slot.client.closed) {
      this.#drop(slot)
      return
    }
    const idle = this.#idle.get(slot.origin) ?? []
    if (idle.length >= MAX_IDLE_PER_ORIGIN) {
      this.#drop(slot)
      return
    }
    idle.push(slot)
    this.#idle.set(slot.origin, idle)
  }

  #drop(slot: Slot): void {
    if (!this.#all.delete(slot)) return
    const idle = this.#idle.get(slot.origin)
    const i = idle?.indexOf(slot) ?? -1
    if (i !== -1) idle?.splice(i, 1)
    slot.client.destroy().catch(() => undefined)
  }
}

/**
 * True when undici destroyed the socket because bytes followed the message we just completed:
 * on a keep-alive connection it parses them as an unsolicited response ('bad response' or an
 * llhttp error) in the same read, before the body's 'end' reaches us.
 * Known limit: after `Connection: close` undici destroys the socket at the declared length and
 * drops the surplus unseen, so such a response passes with exactly Content-Length bytes. Surplus
 * arriving in a later read than the last body byte is not seen either.
 */
function trailingGarbage(conn: Connection): boolean {
  const { socket, state } = conn
  if (socket === undefined || state === undefined || state.fin) return false
  const errored = socket.errored
  if (errored === null) return false
  const code = errorCode(errored)
  return code.startsWith('HPE_') || (code === 'UND_ERR_SOCKET' && errored.message === 'bad response')
}
