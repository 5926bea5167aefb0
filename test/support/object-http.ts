/** Raw HTTP helpers for the object API tests: one signed/anonymous call shape, hashes, a raw socket. */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { connect } from 'node:net'
import { signV1 } from '../../src/auth/sign.js'
import { crc64 } from '../../src/util/crc64.js'
import { raw, type RawResponse } from './raw.js'
import { ACCESS_KEY_ID, ACCESS_KEY_SECRET, type TestServer } from './server.js'

/** `"<uppercase hex MD5>"`, the ETag OSS gives a Normal object. */
export function etagOf(body: Buffer | string): string {
  return `"${createHash('md5').update(body).digest('hex').toUpperCase()}"`
}

/** Base64 of the binary MD5 (Content-MD5). */
export function md5Base64(body: Buffer | string): string {
  return createHash('md5').update(body).digest('base64')
}

/** CRC-64/XZ as the unsigned decimal x-oss-hash-crc64ecma carries. */
export function crcOf(body: Buffer | string): string {
  return crc64(Buffer.from(body)).toString()
}

/** A key as a raw path: each segment percent-encoded, `/`, `.` and `..` left as they are. */
export function keyPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/')
}

export interface CallOptions {
  /** Query parameters; '' → bare `name`. Signed as V1 sub-resources (use only those). */
  readonly query?: Readonly<Record<string, string>>
  /** Unsigned query text appended after the signed parameters (e.g. `encoding-type=url`). */
  readonly extraQuery?: string
  readonly headers?: Record<string, string>
  readonly body?: Buffer | string
  readonly anonymous?: boolean
}

/**
 * One path-style request to `/<bucket>/<key>`, V1-signed unless anonymous. Every response is checked
 * for an `x-oss-request-id` of 24 uppercase hex digits.
 */
export async function call(server: Pick<TestServer, 'port'>, method: string, bucket: string, key: string | undefined, options: CallOptions = {}): Promise<RawResponse> {
  const query = options.query ?? {}
  const parts = Object.entries(query).map(([k, v]) => (v === '' ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`))
  if (options.extraQuery !== undefined) parts.push(options.extraQuery)
  const path = `/${bucket}/${key === undefined ? '' : keyPath(key)}${parts.length > 0 ? `?${parts.join('&')}` : ''}`
  const res = await raw(server, {
    method,
    path,
    ...(options.headers !== undefined ? { headers: options.headers } : {}),
    ...(options.body !== undefined ? { body: options.body } : {}),
    ...(options.anonymous === true ? {} : { sign: { bucket, ...(key !== undefined ? { key } : {}), subresources: query } }),
  })
  const id = res.headers['x-oss-request-id']
  assert.equal(typeof id, 'string', `${method} ${path} answered ${res.status} without x-oss-request-id`)
  assert.match(id as string, /^[0-9A-F]{24}$/)
  return res
}

/** Signs a V1 request for a hand-written request head (raw socket tests). */
export function v1Authorization(method: string, bucket: string, key: string | undefined, headers: Record<string, string>): string {
  return signV1({ method, bucket, ...(key !== undefined ? { key } : {}), subresources: {}, headers, secret: ACCESS_KEY_SECRET, accessKeyId: ACCESS_KEY_ID })
}

export interface SocketResponse {
  readonly status: number
  readonly headers: Map<string, string>
  readonly body: Buffer
}

/**
 * Writes `head` (as latin1: one byte per char) and optionally a body on a fresh TCP connection and resolves with the first
 * response, then closes the connection. For requests node:http would "fix" (no Content-Length, a
 * declared length with no body).
 */
export function socketRequest(port: number, head: string, body?: Buffer, options: { endAfterWrite?: boolean } = {}): Promise<SocketResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    let buf = Buffer.alloc(0)
    let settled = false
    const finish = (fn: () => void): void => {
      if (settled) return
      settled = true
      socket.destroy()
      fn()
    }
    socket.setTimeout(60_000, () => finish(() => reject(new Error('socket request timed out'))))
    socket.on('error', (err) => finish(() => reject(err)))
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      const end = buf.indexOf('\r\n\r\n')
      if (end === -1) return
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n')
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1])
      const headers = new Map<string, string>()
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':')
        headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
      }
      const length = head.startsWith('HEAD ') || status === 304 ? 0 : Number(headers.get('content-length') ?? '0')
      if (buf.length - end - 4 < length) return
      finish(() => resolve({ status, headers, body: buf.subarray(end + 4, end + 4 + length) }))
    })
    socket.on('close', () => finish(() => reject(new Error('connection closed before a response'))))
    socket.write(head, 'latin1')
    if (body !== undefined) socket.write(body)
    // Half-close: the server sees the body end early (a client that leaves mid-upload).
    if (options.endAfterWrite === true) socket.end()
  })
}
