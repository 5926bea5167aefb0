/** Request bodies: declared length checks, staging object bodies, and reading small XML documents. */
import { createHash } from 'node:crypto'
import type { StagedBlob } from '../store/types.js'
import { header, type RequestContext } from './context.js'
import { OssError } from './oss-error.js'
import { requestMd5 } from './object-headers.js'

/** 5 GB: the largest PutObject body, AppendObject total and part. */
export const MAX_OBJECT_SIZE = 5 * 1024 ** 3

/** The declared Content-Length, or undefined for a chunked body. Missing both: MissingContentLength. */
export function declaredLength(ctx: RequestContext, maxSize = MAX_OBJECT_SIZE): number | undefined {
  const raw = header(ctx, 'content-length')
  if (raw === undefined) {
    if (header(ctx, 'transfer-encoding') !== undefined) return undefined
    throw new OssError('MissingContentLength')
  }
  const n = Number(raw)
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n)) throw new OssError('InvalidArgument')
  if (n > maxSize) throw new OssError('InvalidArgument', { extras: [['ArgumentName', 'Content-Length'], ['ArgumentValue', raw]] })
  return n
}

/**
 * Stages the request body as a blob and checks Content-MD5. The caller commits or discards the
 * returned blob; on a throw nothing is left behind.
 */
export async function stageRequestBody(ctx: RequestContext, maxSize = MAX_OBJECT_SIZE): Promise<StagedBlob> {
  declaredLength(ctx, maxSize)
  const expectedMd5 = requestMd5(ctx)
  // No abort signal: a client that leaves mid-body ends the request stream with an error itself.
  const blob = await ctx.services.store.stageBlob(ctx.req, { maxSize })
  if (expectedMd5 !== undefined && !expectedMd5.equals(blob.md5)) {
    await blob.discard()
    throw new OssError('InvalidDigest')
  }
  return blob
}

/** Reads a whole XML body up to `limit` bytes (else MalformedXML) and checks Content-MD5. */
export async function readXmlBody(ctx: RequestContext, limit: number): Promise<string> {
  const expectedMd5 = requestMd5(ctx)
  const declared = header(ctx, 'content-length')
  if (declared !== undefined && Number(declared) > limit) {
    ctx.req.resume()
    throw new OssError('MalformedXML')
  }
  const body = await collect(ctx, limit)
  if (expectedMd5 !== undefined && !expectedMd5.equals(createHash('md5').update(body).digest())) throw new OssError('InvalidDigest')
  const text = body.toString('utf8')
  return text
}

/**
 * Collects the body; past `limit` it keeps draining (so the error can still be sent) but stores
 * nothing, and gives up on the connection past 16 × limit.
 */
function collect(ctx: RequestContext, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const req = ctx.req
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= limit) chunks.push(chunk)
      else if (size > limit * 16) req.destroy()
    })
    req.once('end', () => {
      if (size > limit) reject(new OssError('MalformedXML'))
      else resolve(Buffer.concat(chunks))
    })
    req.once('error', reject)
    req.once('close', () => {
      if (!req.readableEnded) reject(new OssError('IncompleteBody'))
    })
  })
}

/** Discards any request body we do not read, so the connection stays usable. */
export function drainBody(ctx: RequestContext): void {
  if (!ctx.req.readableEnded) ctx.req.resume()
}
