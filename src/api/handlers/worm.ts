/** Bucket retention (WORM): Initiate, Abort, Complete, Extend, Get (worm.md). */
import { randomBytes } from 'node:crypto'
import { effectiveWorm } from '../../store/worm.js'
import type { Bucket, WormPolicy } from '../../store/types.js'
import { readXmlBody } from '../body.js'
import type { RequestContext } from '../context.js'
import { OssError } from '../oss-error.js'
import type { Op } from '../operations.js'
import { sendEmpty, sendXml } from '../respond.js'
import { buildXml } from '../xml/build.js'
import { childText, parseXml } from '../xml/parse.js'
import { requireBucket } from './common.js'

const MAX_DAYS = 25550
const BODY_LIMIT = 64 * 1024

async function readDays(ctx: RequestContext, root: string): Promise<number> {
  const text = await readXmlBody(ctx, BODY_LIMIT)
  const doc = parseXml(text, root, new Set())
  const raw = (childText(doc, 'RetentionPeriodInDays') ?? '').trim()
  const days = Number(raw)
  if (!/^\d+$/.test(raw) || days < 1 || days > MAX_DAYS) throw new OssError('InvalidWORMConfiguration')
  return days
}

function currentPolicy(ctx: RequestContext, bucket: Bucket): WormPolicy {
  const worm = effectiveWorm(bucket, ctx.services.now())
  if (worm === undefined) throw new OssError('NoSuchWORMConfiguration')
  return worm
}

function checkWormId(ctx: RequestContext, worm: WormPolicy): void {
  if (ctx.query.get('wormId') !== worm.id) throw new OssError('NoSuchWORMConfiguration', { message: 'WormIdUnknown' })
}

/** InitiateBucketWorm: https://help.aliyun.com/document_detail/161270.html */
export async function initiateBucketWorm(ctx: RequestContext, op: Op<'InitiateBucketWorm'>, found: Bucket | undefined): Promise<void> {
  const bucket = requireBucket(ctx, op.bucket, found)
  const days = await readDays(ctx, 'InitiateWormConfiguration')
  if (effectiveWorm(bucket, ctx.services.now()) !== undefined) throw new OssError('WORMConfigurationAlreadyExists')
  const worm: WormPolicy = { id: randomBytes(16).toString('hex').toUpperCase(), state: 'InProgress', days, createdAt: ctx.services.now() }
  ctx.services.store.updateBucket(op.bucket, { worm })
  sendEmpty(ctx, 200, { 'x-oss-worm-id': worm.id })
}

/** AbortBucketWorm: https://help.aliyun.com/document_detail/161271.html */
export function abortBucketWorm(ctx: RequestContext, op: Op<'AbortBucketWorm'>, found: Bucket | undefined): void {
  const bucket = requireBucket(ctx, op.bucket, found)
  const worm = currentPolicy(ctx, bucket)
  if (worm.state === 'Locked') throw new OssError('WORMConfigurationLocked')
  ctx.services.store.updateBucket(op.bucket, { worm: null })
  sendEmpty(ctx, 204)
}

/** CompleteBucketWorm: https://help.aliyun.com/document_detail/161272.html */
export function completeBucketWorm(ctx: RequestContext, op: Op<'CompleteBucketWorm'>, found: Bucket | undefined): void {
  const bucket = requireBucket(ctx, op.bucket, found)
  const worm = currentPolicy(ctx, bucket)
  checkWormId(ctx, worm)
  if (worm.state === 'InProgress') ctx.services.store.updateBucket(op.bucket, { worm: { ...worm, state: 'Locked' } })
  sendEmpty(ctx, 200)
}

/** ExtendBucketWorm: https://help.aliyun.com/document_detail/161273.html */
export async function extendBucketWorm(ctx: RequestContext, op: Op<'ExtendBucketWorm'>, found: Bucket | undefined): Promise<void> {
  const bucket = requireBucket(ctx, op.bucket, found)
  const days = await readDays(ctx, 'ExtendWormConfiguration')
  const worm = currentPolicy(ctx, bucket)
  checkWormId(ctx, worm)
  if (worm.state !== 'Locked' || days < worm.days) throw new OssError('InvalidWORMConfiguration')
  if (days > worm.days) ctx.services.store.updateBucket(op.bucket, { worm: { ...worm, days } })
  sendEmpty(ctx, 200)
}

/** worm.md: CreationDate is UTC to the second, written `YYYY-MM-DDTHH:MM:SS.000Z` (as ossutil shows it). */
function creationDate(d: Date): string {
  return new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString()
}

/** GetBucketWorm: https://help.aliyun.com/document_detail/161274.html */
export function getBucketWorm(ctx: RequestContext, op: Op<'GetBucketWorm'>, found: Bucket | undefined): void {
  const bucket = requireBucket(ctx, op.bucket, found)
  const worm = currentPolicy(ctx, bucket)
  sendXml(
    ctx,
    200,
    buildXml('WormConfiguration', [
      ['WormId', worm.id],
      ['State', worm.state],
      ['RetentionPeriodInDays', worm.days],
      ['CreationDate', creationDate(worm.createdAt)],
    ]),
  )
}
