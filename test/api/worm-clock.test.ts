/**
 * Bucket retention (WORM) over time, through a server whose one clock (store write times, policy
 * dates, signature skew) the test sets: an InProgress policy lapses after 24 h; an object is
 * protected while now < its write time + the current period (worm.md).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { call, md5Base64 } from '../support/object-http.js'
import { assertOssError, xmlFields } from '../support/oss-assert.js'
import { startTestServer, type TestServer } from '../support/server.js'
import {
  abortWorm,
  assertImmutable,
  assertNoWorm,
  completeWorm,
  extendWorm,
  getWorm,
  initiateBody,
  initiateWorm,
  lockWorm,
  startWorm,
  wormState,
} from '../support/worm.js'

const HOUR = 60 * 60 * 1000
const DAY = 24 * HOUR
const B = 'clocked'

/** A stopped clock the test moves by hand; requests are dated by it so signatures stay fresh. */
class TestClock {
  private t = Date.parse('2031-03-04T05:06:07.891Z')
  readonly now = (): Date => new Date(this.t)
  advance(ms: number): void {
    this.t += ms
  }
  /** Headers for a request sent "now" by this clock. */
  get headers(): Record<string, string> {
    return { 'x-oss-date': this.now().toUTCString() }
  }
}

async function clockedServer(t: { after(fn: () => Promise<void> | void): void }): Promise<{ server: TestServer; clock: TestClock }> {
  const clock = new TestClock()
  const server = await startTestServer(t, {}, { now: clock.now })
  assert.equal((await call(server, 'PUT', B, undefined, { headers: clock.headers })).status, 200)
  return { server, clock }
}

function put(server: TestServer, clock: TestClock, key: string, body = 'x'): Promise<number> {
  return call(server, 'PUT', B, key, { body, headers: clock.headers }).then((r) => r.status)
}

function del(server: TestServer, clock: TestClock, key: string): ReturnType<typeof call> {
  return call(server, 'DELETE', B, key, { headers: clock.headers })
}

async function keys(server: TestServer, clock: TestClock): Promise<string[]> {
  return xmlFields((await call(server, 'GET', B, undefined, { headers: clock.headers })).text, 'Key')
}

void test('the test clock dates policies and objects: CreationDate (to the second) and Last-Modified follow it', async (t) => {
  const { server, clock } = await clockedServer(t)
  await startWorm(server, B, 1, clock.headers)
  assert.equal((await wormState(server, B, clock.headers)).created, '2031-03-04T05:06:07.000Z')
  assert.equal(await put(server, clock, 'k'), 200)
  const head = await call(server, 'HEAD', B, 'k', { headers: clock.headers })
  assert.equal(head.headers['last-modified'], 'Tue, 04 Mar 2031 05:06:07 GMT')
})

void test('an InProgress policy lapses 24 h after Initiate: Get, Complete, Extend and Abort answer 404 and Initiate is allowed again', async (t) => {
  const { server, clock } = await clockedServer(t)
  const id = await startWorm(server, B, 30, clock.headers)
  clock.advance(DAY - 1)
  assert.equal((await wormState(server, B, clock.headers)).id, id)
  assertOssError(await initiateWorm(server, B, initiateBody(2), clock.headers), 409, 'WORMConfigurationAlreadyExists')

  clock.advance(1)
  assertNoWorm(await getWorm(server, B, clock.headers))
  assertNoWorm(await completeWorm(server, B, id, clock.headers))
  assertNoWorm(await extendWorm(server, B, id, 31, clock.headers))
  assertNoWorm(await abortWorm(server, B, clock.headers))

  const next = await startWorm(server, B, 2, clock.headers)
  assert.notEqual(next, id)
  assert.deepEqual(await wormState(server, B, clock.headers).then((s) => [s.id, s.state, s.days]), [next, 'InProgress', '2'])
})

void test('a lapsed InProgress policy no longer protects objects', async (t) => {
  const { server, clock } = await clockedServer(t)
  assert.equal(await put(server, clock, 'k', 'first'), 200)
  await startWorm(server, B, 30, clock.headers)
  clock.advance(DAY - 1)
  assertImmutable(await del(server, clock, 'k'))
  assert.equal(await put(server, clock, 'k', 'second'), 409)
  clock.advance(1)
  assert.equal(await put(server, clock, 'k', 'second'), 200)
  assert.equal((await del(server, clock, 'k')).status, 204)
})

void test('a policy completed within 24 h stays Locked and protecting after the 24 h have passed', async (t) => {
  const { server, clock } = await clockedServer(t)
  const id = await startWorm(server, B, 30, clock.headers)
  assert.equal(await put(server, clock, 'k'), 200)
  clock.advance(DAY - 1)
  assert.equal((await completeWorm(server, B, id, clock.headers)).status, 200)
  clock.advance(2 * DAY)
  assert.deepEqual(await wormState(server, B, clock.headers).then((s) => [s.id, s.state]), [id, 'Locked'])
  assertImmutable(await del(server, clock, 'k'))
  assertOssError(await abortWorm(server, B, clock.headers), 403, 'WORMConfigurationLocked')
})

void test('an object is protected until exactly its write time plus the retention period, then it can be overwritten and deleted', async (t) => {
  const { server, clock } = await clockedServer(t)
  await lockWorm(server, B, 2, clock.headers)
  assert.equal(await put(server, clock, 'k', 'v1'), 200)
  clock.advance(2 * DAY - 1)
  assertImmutable(await call(server, 'PUT', B, 'k', { body: 'v2', headers: clock.headers }))
  assertImmutable(await del(server, clock, 'k'))
  clock.advance(1)
  assert.equal(await put(server, clock, 'k', 'v2'), 200)
  // The overwrite is a new write: its own window starts now.
  assertImmutable(await del(server, clock, 'k'))
  clock.advance(2 * DAY)
  assert.equal((await del(server, clock, 'k')).status, 204)
})

void test('an object written a whole retention period before the policy is already free; a newer one is protected', async (t) => {
  const { server, clock } = await clockedServer(t)
  assert.equal(await put(server, clock, 'ancient'), 200)
  clock.advance(5 * DAY)
  assert.equal(await put(server, clock, 'recent'), 200)
  clock.advance(1)
  await lockWorm(server, B, 5, clock.headers)
  assert.equal((await del(server, clock, 'ancient')).status, 204)
  assertImmutable(await del(server, clock, 'recent'))
})

void test('ExtendBucketWorm lengthens protection for objects already written, counted from their write time', async (t) => {
  const { server, clock } = await clockedServer(t)
  const id = await lockWorm(server, B, 1, clock.headers)
  assert.equal(await put(server, clock, 'a'), 200)
  assert.equal(await put(server, clock, 'b'), 200)
  clock.advance(DAY - 1)
  assert.equal((await extendWorm(server, B, id, 3, clock.headers)).status, 200)
  clock.advance(2 * DAY)
  assertImmutable(await del(server, clock, 'a'))
  clock.advance(1)
  assert.equal((await del(server, clock, 'a')).status, 204)
  assert.equal(await put(server, clock, 'b', 'replaced'), 200)
})

void test('DeleteMultipleObjects naming one free and one protected key answers 409 FileImmutable and deletes neither', async (t) => {
  const { server, clock } = await clockedServer(t)
  await lockWorm(server, B, 1, clock.headers)
  assert.equal(await put(server, clock, 'free'), 200)
  clock.advance(DAY)
  assert.equal(await put(server, clock, 'held'), 200)
  const multi = (names: string[]): ReturnType<typeof call> => {
    const body = `<Delete><Quiet>true</Quiet>${names.map((k) => `<Object><Key>${k}</Key></Object>`).join('')}</Delete>`
    return call(server, 'POST', B, undefined, { query: { delete: '' }, body, headers: { ...clock.headers, 'content-md5': md5Base64(body) } })
  }
  assertImmutable(await multi(['free', 'held']))
  assertImmutable(await multi(['held', 'free']))
  assert.deepEqual(await keys(server, clock), ['free', 'held'])
  assert.equal((await multi(['free'])).status, 200)
  assert.deepEqual(await keys(server, clock), ['held'])
})

void test('DeleteBucket under a Locked policy needs objects whose window has passed deleted first', async (t) => {
  const { server, clock } = await clockedServer(t)
  await lockWorm(server, B, 1, clock.headers)
  assert.equal(await put(server, clock, 'k'), 200)
  clock.advance(DAY)
  assertOssError(await call(server, 'DELETE', B, undefined, { headers: clock.headers }), 409, 'BucketNotEmpty')
  assert.equal((await del(server, clock, 'k')).status, 204)
  assert.equal((await call(server, 'DELETE', B, undefined, { headers: clock.headers })).status, 204)
})
