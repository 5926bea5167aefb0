/** Bucket retention (WORM) helpers for API tests: raw calls for each operation and the ali-oss view of them. */
import assert from 'node:assert/strict'
import type OSS from 'ali-oss'
import { call } from './object-http.js'
import { assertOssError } from './oss-assert.js'
import { xmlField, type RawResponse } from './raw.js'
import type { TestServer } from './server.js'

/** ali-oss 6.23 WORM calls as lib/common/bucket/*Worm.js implement them (the shipped typings lack them). */
export interface AliWormApi {
  initiateBucketWorm(name: string, days: string | number): Promise<{ wormId: string; status: number }>
  abortBucketWorm(name: string): Promise<{ status: number }>
  completeBucketWorm(name: string, wormId: string): Promise<{ status: number }>
  extendBucketWorm(name: string, wormId: string, days: string | number): Promise<{ status: number }>
  getBucketWorm(name: string): Promise<{ wormId: string; state: string; days: string; creationDate: string; status: number }>
}

export function aliWorm(client: OSS): AliWormApi {
  return client as unknown as AliWormApi
}

/** Extra headers for every request, e.g. an `x-oss-date` from a test clock. */
export type ExtraHeaders = Readonly<Record<string, string>>

export function initiateBody(days: string | number, declaration = true): string {
  return `${declaration ? '<?xml version="1.0" encoding="UTF-8"?>\n' : ''}<InitiateWormConfiguration><RetentionPeriodInDays>${String(days)}</RetentionPeriodInDays></InitiateWormConfiguration>`
}

export function extendBody(days: string | number): string {
  return `<ExtendWormConfiguration><RetentionPeriodInDays>${String(days)}</RetentionPeriodInDays></ExtendWormConfiguration>`
}

export function initiateWorm(server: TestServer, bucket: string, body: string, headers: ExtraHeaders = {}): Promise<RawResponse> {
  return call(server, 'POST', bucket, undefined, { query: { worm: '' }, body, headers: { 'content-type': 'application/xml', ...headers } })
}

export function abortWorm(server: TestServer, bucket: string, headers: ExtraHeaders = {}): Promise<RawResponse> {
  return call(server, 'DELETE', bucket, undefined, { query: { worm: '' }, headers: { ...headers } })
}

export function completeWorm(server: TestServer, bucket: string, wormId: string, headers: ExtraHeaders = {}): Promise<RawResponse> {
  return call(server, 'POST', bucket, undefined, { query: { wormId }, headers: { ...headers } })
}

export function extendWorm(server: TestServer, bucket: string, wormId: string, days: string | number, headers: ExtraHeaders = {}): Promise<RawResponse> {
  return call(server, 'POST', bucket, undefined, { query: { wormExtend: '', wormId }, body: extendBody(days), headers: { 'content-type': 'application/xml', ...headers } })
}

export function getWorm(server: TestServer, bucket: string, headers: ExtraHeaders = {}): Promise<RawResponse> {
  return call(server, 'GET', bucket, undefined, { query: { worm: '' }, headers: { ...headers } })
}

/** Initiates a policy of `days` and returns its ID, asserting the 200 and the ID's form. */
export async function startWorm(server: TestServer, bucket: string, days: number, headers: ExtraHeaders = {}): Promise<string> {
  const res = await initiateWorm(server, bucket, initiateBody(days), headers)
  assert.equal(res.status, 200, res.text)
  const id = res.headers['x-oss-worm-id']
  assert.ok(typeof id === 'string' && /^[0-9A-F]{32}$/.test(id), `x-oss-worm-id ${String(id)}`)
  return id
}

/** Initiates and completes a policy of `days`; returns its ID. */
export async function lockWorm(server: TestServer, bucket: string, days: number, headers: ExtraHeaders = {}): Promise<string> {
  const id = await startWorm(server, bucket, days, headers)
  assert.equal((await completeWorm(server, bucket, id, headers)).status, 200)
  return id
}

/** The policy GetBucketWorm reports, read from the raw XML. */
export async function wormState(server: TestServer, bucket: string, headers: ExtraHeaders = {}): Promise<{ id: string; state: string; days: string; created: string }> {
  const res = await getWorm(server, bucket, headers)
  assert.equal(res.status, 200, res.text)
  return {
    id: xmlField(res.text, 'WormId') ?? '',
    state: xmlField(res.text, 'State') ?? '',
    days: xmlField(res.text, 'RetentionPeriodInDays') ?? '',
    created: xmlField(res.text, 'CreationDate') ?? '',
  }
}

export const IMMUTABLE_MESSAGE = 'The object you specified is immutable.'

/** 409 FileImmutable with its exact message. */
export function assertImmutable(res: RawResponse): void {
  assertOssError(res, 409, 'FileImmutable')
  assert.equal(xmlField(res.text, 'Message'), IMMUTABLE_MESSAGE)
}

/** 404 NoSuchWORMConfiguration with `message`. */
export function assertNoWorm(res: RawResponse, message = 'The WORM Configuration does not exist.'): void {
  assertOssError(res, 404, 'NoSuchWORMConfiguration')
  assert.equal(xmlField(res.text, 'Message'), message)
}
