/** Raw HTTP to a test server, for exact status codes, headers and bytes. Signs with V1 when asked. */
import { request } from 'node:http'
import { signV1 } from '../../src/auth/sign.js'
import { ACCESS_KEY_ID, ACCESS_KEY_SECRET, type TestServer } from './server.js'

export interface RawResponse {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: Buffer
  readonly text: string
}

export interface RawOptions {
  readonly method?: string
  /** Raw request target, sent byte for byte (e.g. `/bkt/a%20b?acl`). */
  readonly path: string
  readonly headers?: Record<string, string>
  readonly body?: Buffer | string
  /** Sign with V1 for this bucket/key and these sub-resources; omit for an anonymous request. */
  readonly sign?: { bucket?: string; key?: string; subresources?: Record<string, string | undefined>; secret?: string; accessKeyId?: string }
}

/** Sends one request and collects the whole response. */
export function raw(server: Pick<TestServer, 'port'>, options: RawOptions): Promise<RawResponse> {
  const method = options.method ?? 'GET'
  const headers: Record<string, string> = { ...(options.headers ?? {}) }
  if (options.sign !== undefined) {
    if (headers['x-oss-date'] === undefined && headers.date === undefined) headers['x-oss-date'] = new Date().toUTCString()
    headers.authorization = signV1({
      method,
      ...(options.sign.bucket !== undefined ? { bucket: options.sign.bucket } : {}),
      ...(options.sign.key !== undefined ? { key: options.sign.key } : {}),
      subresources: options.sign.subresources ?? {},
      headers,
      secret: options.sign.secret ?? ACCESS_KEY_SECRET,
      accessKeyId: options.sign.accessKeyId ?? ACCESS_KEY_ID,
    })
  }
  const body = options.body === undefined ? undefined : Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body)
  if (body !== undefined && headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) {
    headers['content-length'] = String(body.length)
  }
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, method, path: options.path, headers, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const buf = Buffer.concat(chunks)
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: buf, text: buf.toString('utf8') })
      })
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error('raw request timed out')))
    req.on('error', reject)
    req.end(body)
  })
}

/** The text of the first `<name>` element in an XML string. */
export function xmlField(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml)
  return m?.[1]
}

/** Raw signed request helper for a bucket-level or object-level path-style request. */
export function signed(server: Pick<TestServer, 'port'>, method: string, bucket: string, key: string | undefined, extra: Omit<RawOptions, 'path' | 'method' | 'sign'> & { query?: string; subresources?: Record<string, string | undefined> } = {}): Promise<RawResponse> {
  const path = `/${bucket}/${key === undefined ? '' : key.split('/').map(encodeURIComponent).join('/')}${extra.query !== undefined ? `?${extra.query}` : ''}`
  return raw(server, {
    method,
    path,
    ...(extra.headers !== undefined ? { headers: extra.headers } : {}),
    ...(extra.body !== undefined ? { body: extra.body } : {}),
    sign: { bucket, ...(key !== undefined ? { key } : {}), subresources: extra.subresources ?? {} },
  })
}
