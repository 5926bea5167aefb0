/** Small pieces every handler group uses: owner element, bucket lookup, integer query params. */
import type { Bucket } from '../../store/types.js'
import type { RequestContext } from '../context.js'
import { OSS_EC } from '../errors.js'
import { OssError } from '../oss-error.js'
import type { XmlNode } from '../xml/build.js'

export function ownerNode(ctx: RequestContext): XmlNode {
  const id = ctx.services.settings.ownerId
  return [
    ['ID', id],
    ['DisplayName', id],
  ]
}

export function noSuchBucket(name: string): OssError {
  return new OssError('NoSuchBucket', { ec: OSS_EC.NoSuchBucket, extras: [['BucketName', name]] })
}

export function requireBucket(ctx: RequestContext, name: string, found: Bucket | undefined): Bucket {
  const bucket = found ?? ctx.services.store.findBucket(name)
  if (bucket === undefined) throw noSuchBucket(name)
  return bucket
}

/** An integer query parameter within [min, max], its default when absent or empty. */
export function intParam(ctx: RequestContext, name: string, def: number, min: number, max: number): number {
  const raw = ctx.query.get(name)
  if (raw === undefined || raw === '') return def
  if (!/^-?\d+$/.test(raw)) throw new OssError('InvalidArgument', { extras: [['ArgumentName', name], ['ArgumentValue', raw]] })
  const n = Number(raw)
  if (n < min || n > max) throw new OssError('InvalidArgument', { extras: [['ArgumentName', name], ['ArgumentValue', raw]] })
  return n
}

/** A string query parameter shorter than 1,024 bytes. */
export function strParam(ctx: RequestContext, name: string): string {
  const v = ctx.query.get(name) ?? ''
  if (Buffer.byteLength(v) >= 1024) throw new OssError('InvalidArgument', { extras: [['ArgumentName', name], ['ArgumentValue', v]] })
  return v
}

/** Percent-encodes for encoding-type=url: `A-Za-z0-9-_.~/` stay bare, space is %20. */
export function urlEncodeKey(s: string): string {
  return encodeURIComponent(s).replace(/%2F/g, '/').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}

export function encodingIsUrl(ctx: RequestContext): boolean {
  return (ctx.query.get('encoding-type') ?? ctx.headers.get('encoding-type')?.[0]) === 'url'
}
