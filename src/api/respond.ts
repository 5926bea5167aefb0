/**
 * The only code that writes responses: common headers (request id, Date, Server), XML bodies,
 * empty bodies, streamed bodies and OSS error documents (HEAD errors in x-oss-err).
 */
import { STATUS_CODES, type OutgoingHttpHeaders, type ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import { finished } from 'node:stream/promises'
import { giveBack, isPooled } from '../util/chunk-pool.js'
import type { SharedBody } from '../store/types.js'
import type { RequestContext } from './context.js'
import { MIRROR_FAILURE_MESSAGES, OSS_ERRORS, OSS_MESSAGES } from './errors.js'
import { OssError } from './oss-error.js'
import { buildXml } from './xml/build.js'

let dateSecond = -1
let dateText = ''

/** The Date header: formatted once a second, not on every response. */
function httpNow(): string {
  const now = Date.now()
  const second = Math.floor(now / 1000)
  if (second !== dateSecond) {
    dateSecond = second
    dateText = new Date(now).toUTCString()
  }
  return dateText
}

/**
 * Adds the common headers to `headers`, which the caller built for this response alone. Cheaper
 * than a spread of two objects into a third, which is measurable on a small GET.
 */
function withBase(ctx: RequestContext, headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  headers['x-oss-request-id'] = ctx.id
  headers.server = 'AliyunOSS'
  headers.date = httpNow()
  return headers
}

export function sendEmpty(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders = {}): void {
  const res = ctx.res
  headers['content-length'] ??= '0'
  res.writeHead(status, withBase(ctx, headers))
  res.end()
}

/** Headers only (HEAD, 304, GetObjectMeta): Content-Length may describe a body that is not sent. */
export function sendHeaders(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders): void {
  ctx.res.writeHead(status, withBase(ctx, headers))
  ctx.res.end()
}

export function sendXml(ctx: RequestContext, status: number, xml: string, headers: OutgoingHttpHeaders = {}): void {
  const body = Buffer.from(xml, 'utf8')
  ctx.outcome.bytes = body.length
  ctx.res.writeHead(status, {
    ...withBase(ctx, {}),
    'content-type': 'application/xml',
    'content-length': String(body.length),
    ...headers,
  })
  ctx.res.end(ctx.method === 'HEAD' ? undefined : body)
}

/** A body already in memory (small objects): headers and bytes in one write. */
export function sendBuffer(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders, body: Buffer): void {
  ctx.res.writeHead(status, withBase(ctx, headers))
  ctx.res.end(ctx.method === 'HEAD' ? undefined : body)
}

/**
 * A body shared with other responses (the same Buffer goes to every socket: no copy, and the socket
 * queues a reference, so a slow client holds no memory of its own). Released when the response closes.
 */
export function sendShared(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders, body: SharedBody): void {
  const res = ctx.res
  if (res.closed || res.destroyed) body.release()
  else res.once('close', () => body.release())
  res.writeHead(status, withBase(ctx, headers))
  res.end(ctx.method === 'HEAD' ? undefined : body.bytes)
}

/** Streams `body` as the response; the stream is destroyed if the client leaves. */
export async function sendStream(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders, body: Readable): Promise<void> {
  ctx.res.writeHead(status, withBase(ctx, headers))
  if (ctx.method === 'HEAD') {
    body.destroy()
    ctx.res.end()
    return
  }
  await streamTo(body, ctx.res)
}

/**
 * Writes `body` to `res` with backpressure, like a pipeline, and gives each pooled chunk back once
 * the socket has taken its bytes (util/chunk-pool.ts). Resolves when the response finished; if the
 * body fails the response is destroyed (the client sees a cut body), if the client leaves first the
 * body is destroyed; either way it rejects.
 */
export function streamTo(body: Readable, res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      body.off('data', onData)
      body.off('end', onEnd)
      body.off('error', onError)
      body.off('close', onBodyClose)
      res.off('drain', onDrain)
      res.off('close', onResClose)
    }
    const onData = (chunk: Buffer): void => {
      const ok = isPooled(chunk) ? res.write(chunk, () => giveBack(chunk)) : res.write(chunk)
      if (!ok) {
        body.pause()
        res.once('drain', onDrain)
      }
    }
    const onDrain = (): void => {
      body.resume()
    }
    const onEnd = (): void => {
      cleanup()
      res.end()
      finished(res).then(resolve, reject)
    }
    const onError = (err: Error): void => {
      cleanup()
      res.destroy(err)
      reject(err)
    }
    const onBodyClose = (): void => {
      if (!body.readableEnded) onError(prematureClose())
    }
    const onResClose = (): void => {
      cleanup()
      body.destroy()
      reject(prematureClose())
    }
    body.on('data', onData)
    body.once('end', onEnd)
    body.once('error', onError)
    body.once('close', onBodyClose)
    res.once('close', onResClose)
  })
}

function prematureClose(): Error {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' })
}

/** The error document exactly as OSS shapes it. */
export function errorXml(ctx: Pick<RequestContext, 'id' | 'host'>, err: OssError): { xml: string; status: number; message: string } {
  const spec = OSS_ERRORS[err.code]
  const o = err.options
  const message =
    o.mirrorReason !== undefined
      ? MIRROR_FAILURE_MESSAGES[o.mirrorReason]
      : o.message !== undefined
        ? OSS_MESSAGES[o.message].message
        : spec.message
  const children: Array<readonly [string, string]> = [
    ['Code', err.code],
    ['Message', message],
    ['RequestId', ctx.id],
    ['HostId', ctx.host],
    ...(o.extras ?? []),
  ]
  if (o.ec !== undefined) {
    children.push(['EC', o.ec], ['RecommendDoc', `https://api.aliyun.com/troubleshoot?q=${o.ec}`])
  }
  return { xml: buildXml('Error', children), status: spec.status, message }
}

/**
 * The whole HTTP/1.1 response, as a string for the socket, for a request node:http could not parse
 * (no RequestContext exists); the connection closes after it. A HEAD gets the document in x-oss-err.
 */
export function clientErrorResponse(id: string, err: OssError, head: boolean): string {
  const { xml, status } = errorXml({ id, host: '' }, err)
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`, `x-oss-request-id: ${id}`, 'server: AliyunOSS', `date: ${new Date().toUTCString()}`]
  if (head) lines.push(`x-oss-err: ${Buffer.from(xml, 'utf8').toString('base64')}`, 'content-length: 0')
  else lines.push('content-type: application/xml', `content-length: ${Buffer.byteLength(xml)}`)
  lines.push('connection: close')
  return `${lines.join('\r\n')}\r\n\r\n${head ? '' : xml}`
}

/** Node clients (ali-oss included) refuse response headers over 16 KB in total by default. */
const MAX_ERR_HEADER = 8 * 1024

/**
 * x-oss-err: the error document, base64. Signature diagnostics echo the request's headers and can
 * be huge, so past MAX_ERR_HEADER the long extras are left out (the body-less answer stays readable).
 */
function errHeader(ctx: RequestContext, err: OssError, xml: string): string {
  const full = Buffer.from(xml, 'utf8').toString('base64')
  if (full.length <= MAX_ERR_HEADER) return full
  const extras = (err.options.extras ?? []).filter(([, value]) => value.length <= 256)
  return Buffer.from(errorXml(ctx, new OssError(err.code, { ...err.options, extras })).xml, 'utf8').toString('base64')
}

export function sendError(ctx: RequestContext, err: OssError): void {
  const { xml, status } = errorXml(ctx, err)
  ctx.outcome.code = err.code
  const res = ctx.res
  if (res.headersSent) {
    res.destroy()
    return
  }
  const headers: OutgoingHttpHeaders = { ...withBase(ctx, {}), ...(err.options.headers ?? {}) }
  if (err.options.ec !== undefined) headers['x-oss-ec'] = err.options.ec
  if (ctx.method === 'HEAD') {
    headers['x-oss-err'] = errHeader(ctx, err, xml)
    headers['content-length'] = '0'
    res.writeHead(status, headers)
    res.end()
    return
  }
  const body = Buffer.from(xml, 'utf8')
  headers['content-type'] = 'application/xml'
  headers['content-length'] = String(body.length)
  res.writeHead(status, headers)
  res.end(body)
}
