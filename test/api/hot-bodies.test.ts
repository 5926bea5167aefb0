/**
 * GetObject served from the hot-body cache, on a real server: many concurrent GETs of one object
 * are byte-exact and cost one blob read (mirrorstore_store_hot_reads_total on /metrics), ranges,
 * no stale bytes after an overwrite, the entry freed on delete, and objects over 1 MiB streamed.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { signed } from '../support/raw.js'
import { ossClient } from '../support/oss-client.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { admin, metric } from '../support/mirror.js'

const MiB = 1024 * 1024

async function hot(server: TestServer): Promise<{ reads: (outcome: string) => number; held: number }> {
  const { text } = await admin(server, '/metrics')
  return { reads: (outcome) => metric(text, 'mirrorstore_store_hot_reads_total', { outcome }), held: metric(text, 'mirrorstore_store_hot_held_bytes') }
}

async function setup(t: Parameters<typeof startTestServer>[0]): Promise<TestServer> {
  const server = await startTestServer(t, { adminPort: '0' })
  const client = ossClient(server)
  await client.putBucket('hot')
  return server
}

void test('GetObject: 100 concurrent GETs of one 1 MiB object are byte-exact and the store reads its blob once', async (t) => {
  const server = await setup(t)
  const client = ossClient(server, { bucket: 'hot' })
  const body = randomBytes(MiB)
  await client.put('herd', body)
  const replies = await Promise.all(Array.from({ length: 100 }, () => signed(server, 'GET', 'hot', 'herd')))
  for (const r of replies) {
    assert.equal(r.status, 200)
    assert.equal(r.headers['content-length'], String(MiB))
    assert.ok(r.body.equals(body))
  }
  const { reads, held } = await hot(server)
  assert.equal(reads('loaded'), 1)
  assert.equal(reads('joined') + reads('hit'), 99)
  assert.equal(reads('bypassed'), 0)
  assert.equal(held, MiB)
  // ali-oss reads the same bytes from memory.
  const got = await client.get('herd')
  assert.ok(Buffer.from(got.content as Buffer).equals(body))
  assert.equal((await hot(server)).reads('loaded'), 1)
})

void test('GetObject: a Range GET of a cached body answers 206 with the exact bytes, without another read', async (t) => {
  const server = await setup(t)
  const client = ossClient(server, { bucket: 'hot' })
  const body = randomBytes(300 * 1024)
  await client.put('ranged', body)
  assert.equal((await signed(server, 'GET', 'hot', 'ranged')).status, 200)
  const r = await signed(server, 'GET', 'hot', 'ranged', { headers: { range: 'bytes=1000-200999' } })
  assert.equal(r.status, 206)
  assert.equal(r.headers['content-range'], `bytes 1000-200999/${String(body.length)}`)
  assert.ok(r.body.equals(body.subarray(1000, 201_000)))
  const tail = await signed(server, 'GET', 'hot', 'ranged', { headers: { range: 'bytes=-10' } })
  assert.equal(tail.status, 206)
  assert.ok(tail.body.equals(body.subarray(body.length - 10)))
  const ali = await client.get('ranged', { headers: { Range: 'bytes=5-9' } })
  assert.ok(Buffer.from(ali.content as Buffer).equals(body.subarray(5, 10)))
  const { reads } = await hot(server)
  assert.equal(reads('loaded'), 1)
  assert.equal(reads('hit'), 3)
})

void test('GetObject after an overwrite returns the new bytes, never the cached old ones; delete frees the entry', async (t) => {
  const server = await setup(t)
  const client = ossClient(server, { bucket: 'hot' })
  const v1 = Buffer.alloc(200 * 1024, 1)
  const v2 = Buffer.alloc(150 * 1024, 2)
  await client.put('k', v1)
  assert.ok((await signed(server, 'GET', 'hot', 'k')).body.equals(v1))
  assert.ok((await signed(server, 'GET', 'hot', 'k')).body.equals(v1))
  await client.put('k', v2)
  const after = await signed(server, 'GET', 'hot', 'k')
  assert.equal(after.status, 200)
  assert.ok(after.body.equals(v2))
  assert.ok(Buffer.from((await client.get('k')).content as Buffer).equals(v2))
  assert.equal((await hot(server)).held, v2.length, 'the old version left the cache with its blob')
  await client.delete('k')
  assert.equal((await hot(server)).held, 0)
  assert.equal((await signed(server, 'GET', 'hot', 'k')).status, 404)
})

void test('GetObject of an object over 1 MiB streams it from disk (not cached), byte-exact', async (t) => {
  const server = await setup(t)
  const client = ossClient(server, { bucket: 'hot' })
  const body = randomBytes(MiB + 1)
  await client.put('big', body)
  const replies = await Promise.all([1, 2, 3].map(() => signed(server, 'GET', 'hot', 'big')))
  for (const r of replies) assert.ok(r.body.equals(body))
  const { reads, held } = await hot(server)
  assert.equal(reads('loaded') + reads('joined') + reads('hit') + reads('bypassed'), 0)
  assert.equal(held, 0)
})
