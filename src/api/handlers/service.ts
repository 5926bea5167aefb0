/** ListBuckets (GetService): https://help.aliyun.com/document_detail/31957.html */
import type { RequestContext } from '../context.js'
import type { Op } from '../operations.js'
import { sendXml } from '../respond.js'
import { buildXml, type XmlNode } from '../xml/build.js'
import { intParam, ownerNode, strParam } from './common.js'

export function listBuckets(ctx: RequestContext, _op: Op<'ListBuckets'>): void {
  const prefix = strParam(ctx, 'prefix')
  const marker = strParam(ctx, 'marker')
  const maxKeys = intParam(ctx, 'max-keys', 100, 1, 1000)
  const { buckets, truncated } = ctx.services.store.listBuckets({ prefix, marker, maxKeys })
  const { region } = ctx.services.settings
  const location = `oss-${region}`
  const paged = ctx.query.has('prefix') || ctx.query.has('marker') || ctx.query.has('max-keys')
  const last = buckets[buckets.length - 1]
  const children: Array<readonly [string, XmlNode[number][1]]> = []
  if (paged) {
    children.push(['Prefix', prefix], ['Marker', marker], ['MaxKeys', maxKeys], ['IsTruncated', truncated])
    if (truncated && last !== undefined) children.push(['NextMarker', last.name])
  }
  children.push(['Owner', ownerNode(ctx)])
  children.push([
    'Buckets',
    buckets.map((b) => [
      'Bucket',
      [
        ['CreationDate', b.createdAt.toISOString()],
        ['ExtranetEndpoint', `${location}.aliyuncs.com`],
        ['IntranetEndpoint', `${location}-internal.aliyuncs.com`],
        ['Location', location],
        ['Name', b.name],
        ['Region', region],
        ['StorageClass', b.storageClass],
      ],
    ] as const),
  ])
  sendXml(ctx, 200, buildXml('ListAllMyBucketsResult', children))
}
