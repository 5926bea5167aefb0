/**
 * A tiny OSS client for the CLI's client commands: path-style, V1-signed requests to a running
 * server over node:http(s). Bodies are small XML documents, read whole under a cap.
 */
import { createHash } from 'node:crypto'
import { request as httpRequest, type IncomingHttpHeaders, type RequestOptions } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { encodeQuery, signV1 } from '../auth/sign.js'

const RESPONSE_LIMIT = 16 * 1024 * 1024
const TIMEOUT_MS = 60_000

export interface ClientCredentials {
  readonly accessKeyId: string
  readonly accessKeySecret: string
}

export interface BucketRequest {
  readonly method: 'GET' | 'PUT' | 'DELETE'
  readonly bucket: string
  /** Sub-resources (signed); '' → bare `name`, e.g. `{ website: '' }`. */
  readonly subresources?: Readonly<Record<string, string>>
  readonly body?: Buffer
  readonly contentType?: string
}

export interface ClientResponse {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
}

/** The server answered with an error document; the message is `<Code>: <Message>`. */
export class ServerError extends Error {
  override readonly name = 'ServerError'
  readonly status: number
  readonly code: string
  constructor(status: number, code: string, message: string) {
    super(message === '' ? code : `${code}: ${message}`)
    this.status = status
    this.code = code
  }
}

/** No HTTP exchange with the endpoint (refused, DNS, reset, timeout). */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError'
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#13': '\r' }

function field(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)
  return m?.[1]?.replace(/&(amp|lt|gt|quot|apos|#13);/g, (_all, e: string) => ENTITIES[e] ?? '')
}

/** An OSS error document → ServerError; a body without one names the HTTP status. */
export function serverError(res: ClientResponse): ServerError {
  const text = res.body.toString('utf8')
  const code = field(text, 'Code')
  if (code === undefined) return new ServerError(res.status, `HTTP ${res.status}`, '')
  return new ServerError(res.status, code, field(text, 'Message') ?? '')
}

export class OssClient {
  readonly endpoint: string
  readonly #url: URL
  readonly #credentials: ClientCredentials

  /** `endpoint`: an origin such as `http://127.0.0.1:9000`. */
  constructor(endpoint: string, credentials: ClientCredentials) {
    this.endpoint = endpoint
    this.#url = new URL(endpoint)
    this.#credentials = credentials
  }

  /** Sends one request; any status resolves. Throws ConnectionError when no response arrives. */
  send(req: BucketRequest): Promise<ClientResponse> {
    const subresources = req.subresources ?? {}
    const headers: Record<string, string> = { 'x-oss-date': new Date().toUTCString() }
    if (req.body !== undefined) {
      headers['content-type'] = req.contentType ?? 'application/xml'
      headers['content-md5'] = createHash('md5').update(req.body).digest('base64')
      headers['content-length'] = String(req.body.length)
    }
    headers.authorization = signV1({
      method: req.method,
      bucket: req.bucket,
      subresources,
      headers,
      secret: this.#credentials.accessKeySecret,
      accessKeyId: this.#credentials.accessKeyId,
    })
    const query = encodeQuery(subresources)
    const options: RequestOptions = {
      protocol: this.#url.protocol,
      hostname: this.#url.hostname.replace(/^\[|\]$/g, ''),
      port: this.#url.port === '' ? undefined : Number(this.#url.port),
      method: req.method,
      path: `/${encodeURIComponent(req.bucket)}/${query === '' ? '' : `?${query}`}`,
      headers,
    }
    const request = this.#url.protocol === 'https:' ? httpsRequest : httpRequest
    return new Promise((resolve, reject) => {
      const fail = (err: Error): void => {
        const code = (err as NodeJS.ErrnoException).code
        reject(new ConnectionError(`Cannot reach "${this.endpoint}": ${code ?? err.message}`))
      }
      const r = request(options, (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (c: Buffer) => {
          size += c.length
          if (size > RESPONSE_LIMIT) res.destroy(new Error('response too large'))
          else chunks.push(c)
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
        res.on('error', fail)
      })
      r.setTimeout(TIMEOUT_MS, () => r.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })))
      r.on('error', fail)
      r.end(req.body)
    })
  }

  /** Like send, but a status of 300 or more throws the server's error as a ServerError. */
  async call(req: BucketRequest): Promise<ClientResponse> {
    const res = await this.send(req)
    if (res.status >= 300) throw serverError(res)
    return res
  }
}
