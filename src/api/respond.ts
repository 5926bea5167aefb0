/**
 * The only code that writes responses: common headers (request id, Date, Server), XML bodies,
 * empty bodies, streamed bodies and OSS error documents (HEAD errors in x-oss-err).
 */
import type { OutgoingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { RequestContext } from './context.js'
import { MIRROR_FAILURE_MESSAGES, OSS_ERRORS, OSS_MESSAGES } from './errors.js'
import type { OssError } from './oss-error.js'
import { buildXml } from './xml/build.js'

function baseHeaders(ctx: RequestContext): OutgoingHttpHeaders {
  return { 'x-oss-request-id': ctx.id, server: 'AliyunOSS', date: new Date().toUTCString() }
}

export function sendEmpty(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders = {}): void {
  const res = ctx.res
  res.writeHead(status, { ...baseHeaders(ctx), 'content-length': '0', ...headers })
  res.end()
}

/** Headers only (HEAD, 304, GetObjectMeta): Content-Length may describe a body that is not sent. */
export function sendHeaders(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders): void {
  ctx.res.writeHead(status, { ...baseHeaders(ctx), ...headers })
  ctx.res.end()
}

export function sendXml(ctx: RequestContext, status: number, xml: string, headers: OutgoingHttpHeaders = {}): void {
  const body = Buffer.from(xml, 'utf8')
  ctx.outcome.bytes = body.length
  ctx.res.writeHead(status, {
    ...baseHeaders(ctx),
    'content-type': 'application/xml',
    'content-length': String(body.length),
    ...headers,
  })
  ctx.res.end(ctx.method === 'HEAD' ? undefined : body)
}

/** Streams `body` as the response; the stream is destroyed if the client leaves. */
export async function sendStream(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders, body: Readable): Promise<void> {
  ctx.res.writeHead(status, { ...baseHeaders(ctx), ...headers })
  if (ctx.method === 'HEAD') {
    body.destroy()
    ctx.res.end()
    return
  }
  await pipeline(body, ctx.res)
}

/** The error document exactly as OSS shapes it. */
export function errorXml(ctx: RequestContext, err: OssError): { xml: string; status: number; message: string } {
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

export function sendError(ctx: RequestContext, err: OssError): void {
  const { xml, status } = errorXml(ctx, err)
  ctx.outcome.code = err.code
  const res = ctx.res
  if (res.headersSent) {
    res.destroy()
    return
  }
  const headers: OutgoingHttpHeaders = { ...baseHeaders(ctx), ...(err.options.headers ?? {}) }
  if (err.options.ec !== undefined) headers['x-oss-ec'] = err.options.ec
  if (ctx.method === 'HEAD') {
    headers['x-oss-err'] = Buffer.from(xml, 'utf8').toString('base64')
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
