/** A signed PutObject whose body the test sends piece by piece, to hold a request in flight. */
import { request, type ClientRequest } from 'node:http'
import { signV1 } from '../../src/auth/sign.js'
import { ACCESS_KEY_ID, ACCESS_KEY_SECRET } from './server.js'

export interface PacedPut {
  readonly req: ClientRequest
  /** Resolves when the server has read the headers (it answered 100 Continue). */
  readonly started: Promise<void>
  /** The response, or the error if the connection fails. */
  readonly response: Promise<{ status: number; text: string }>
  write(chunk: Buffer): Promise<void>
  end(chunk?: Buffer): void
}

export function pacedPut(port: number, bucket: string, key: string, length: number, extraHeaders: Record<string, string> = {}): PacedPut {
  const headers: Record<string, string> = {
    'x-oss-date': new Date().toUTCString(),
    'content-length': String(length),
    expect: '100-continue',
    ...extraHeaders,
  }
  headers.authorization = signV1({ method: 'PUT', bucket, key, subresources: {}, headers, secret: ACCESS_KEY_SECRET, accessKeyId: ACCESS_KEY_ID })
  const req = request({ host: '127.0.0.1', port, method: 'PUT', path: `/${bucket}/${encodeURIComponent(key)}`, headers, agent: false })
  const started = new Promise<void>((resolve, reject) => {
    req.once('continue', () => resolve())
    req.once('error', reject)
  })
  const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.once('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
    req.on('error', reject)
  })
  // Both promises may legitimately reject (a killed server); callers that care await them.
  started.catch(() => undefined)
  response.catch(() => undefined)
  req.flushHeaders()
  return {
    req,
    started,
    response,
    write: (chunk) =>
      new Promise((resolve, reject) => {
        req.write(chunk, (err) => (err === null || err === undefined ? resolve() : reject(err)))
      }),
    end: (chunk) => {
      if (chunk === undefined) req.end()
      else req.end(chunk)
    },
  }
}
