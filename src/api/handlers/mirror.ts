/**
 * The mirror trigger on a miss (mirror-rules.md B1, B7): match the bucket's rules, start or join
 * the fill, and answer with what it yields — a verified object, a read-while-fill stream, a
 * redirect, a transparent origin status, or a 424 MirrorFailed.
 */
import type { OutgoingHttpHeaders } from 'node:http'
import type { FillHead } from '../../mirror/engine.js'
import { matchRule } from '../../mirror/rules.js'
import type { Bucket, ObjectAttributes } from '../../store/types.js'
import { header, type RequestContext } from '../context.js'
import { STORED_HEADERS } from '../object-headers.js'
import { OssError } from '../oss-error.js'
import type { Op } from '../operations.js'
import { decideRange } from '../range.js'
import { sendEmpty, streamTo } from '../respond.js'
import { compiledRules } from '../xml/website.js'
import { sendObject } from './object.js'

const CONDITIONALS = ['if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since']

/** The Mirror rule that a miss of this key would trigger, if any. */
function mirrorRuleFor(ctx: RequestContext, bucket: Bucket, key: string, method: string) {
  if (bucket.website === undefined) return undefined
  const rule = matchRule(compiledRules(bucket.website), key, ctx.headers)
  if (rule?.mirror === undefined) return undefined
  if (method === 'HEAD' && !rule.mirror.allowHeadObject) return undefined
  return rule
}

/** Counts a hit when a stored object would have matched a Mirror rule. */
export function countMirrorHit(ctx: RequestContext, bucket: Bucket, key: string): void {
  if (bucket.website !== undefined && mirrorRuleFor(ctx, bucket, key, ctx.method) !== undefined) ctx.services.mirror.count('hit')
}

function streamHeaders(ctx: RequestContext, attributes: ObjectAttributes): OutgoingHttpHeaders {
  const h: OutgoingHttpHeaders = {
    'x-oss-request-id': ctx.id,
    server: 'AliyunOSS',
    date: new Date().toUTCString(),
    'accept-ranges': 'bytes',
    'x-oss-object-type': 'Normal',
    'x-oss-storage-class': attributes.storageClass,
    'x-oss-tag': 'MIRROR',
  }
  for (const name of STORED_HEADERS) {
    const v = attributes.headers[name]
    if (v !== undefined) h[name] = v
  }
  const acao = attributes.headers['access-control-allow-origin']
  if (acao !== undefined) h['access-control-allow-origin'] = acao
  for (const [name, value] of attributes.userMeta) h[`x-oss-meta-${name}`] = value
  return h
}

/** Read-while-fill: headers now, bytes as the fill stages them; aborted if the fill fails. */
async function streamFill(ctx: RequestContext, fill: { tail(start: number, end?: number): import('node:stream').Readable }, head: Extract<FillHead, { kind: 'stream' }>): Promise<void> {
  const headers = streamHeaders(ctx, head.attributes)
  let status = 200
  let start = 0
  let end: number | undefined
  if (head.contentLength !== undefined) {
    const standard = header(ctx, 'x-oss-range-behavior')?.toLowerCase() === 'standard'
    const decision = decideRange(header(ctx, 'range'), head.contentLength, standard)
    if (decision.kind === 'unsatisfiable') {
      throw new OssError('InvalidRange', { headers: { 'content-range': `bytes */${head.contentLength}` } })
    }
    if (decision.kind === 'partial') {
      status = 206
      start = decision.range.start
      end = decision.range.end
      headers['content-range'] = `bytes ${start}-${end}/${head.contentLength}`
      headers['content-length'] = String(end - start + 1)
    } else {
      headers['content-length'] = String(head.contentLength)
    }
  }
  const body = fill.tail(start, end)
  ctx.res.writeHead(status, headers)
  // B7: the headers go out at once, not with the first byte the fill releases.
  ctx.res.flushHeaders()
  await streamTo(body, ctx.res)
}

/**
 * Answers a GET (or HEAD) miss through the mirror; returns false when no Mirror rule applies (the
 * caller answers NoSuchKey).
 */
export async function serveMiss(ctx: RequestContext, bucket: Bucket, op: Op<'GetObject'> | Op<'HeadObject'>): Promise<boolean> {
  const rule = mirrorRuleFor(ctx, bucket, op.key, ctx.method)
  if (rule === undefined) return false
  const engine = ctx.services.mirror
  const { fill } = engine.fill(bucket, op.key, rule, { requestId: ctx.id, rawQuery: ctx.rawQuery, headers: ctx.headers })
  ctx.req.resume()
  const head = await fill.head
  switch (head.kind) {
    case 'redirect':
      sendEmpty(ctx, 302, { location: head.location })
      return true
    case 'transparent': {
      ctx.res.writeHead(head.status, {
        'x-oss-request-id': ctx.id,
        server: 'AliyunOSS',
        date: new Date().toUTCString(),
        'content-length': String(head.body.length),
        ...(head.contentType !== undefined ? { 'content-type': head.contentType } : {}),
      })
      ctx.res.end(ctx.method === 'HEAD' ? undefined : head.body)
      return true
    }
    case 'verified':
      await sendObject(ctx, head.object)
      return true
    case 'stream': {
      const waitForCommit =
        ctx.method === 'HEAD' || CONDITIONALS.some((h) => ctx.headers.has(h)) || (head.contentLength === undefined && ctx.headers.has('range'))
      if (waitForCommit) {
        const object = await fill.done
        if (object === undefined) throw new OssError('InternalError')
        await sendObject(ctx, object)
        return true
      }
      await streamFill(ctx, fill, head)
      return true
    }
  }
}
