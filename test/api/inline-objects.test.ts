/**
 * Small bodies (at most INLINE_MAX bytes) live in meta.db, not in files: PutObject, chunked uploads,
 * overwrite and delete, multipart, copy, append, ranges and mirror fills over inline blobs, byte
 * for byte, with the refcounts and the data dir checked after each step.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { INLINE_MAX } from '../../src/store/embedded/blobs.js'
import { call, crcOf, etagOf } from '../support/object-http.js'
import { ossClient } from '../support/oss-client.js'
import { startOrigin } from '../support/origin.js'
import { assertMirrorFailed, assertNotStored, mirrorBucket } from '../support/mirror.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { assertStoreInvariants, blobHomes } from '../support/store-invariants.js'

async function settledHomes(server: TestServer): Promise<{ files: number; inline: number }> {
  // Freed files are unlinked just after the commit: give the unlinks a moment.
  await new Promise((r) => setTimeout(r, 50))
  return blobHomes(server.dataDir)
}

async function put(server: TestServer, key: string, body: Buffer, headers: Record<string, string> = {}): Promise<void> {
  const r = await call(server, 'PUT', 'inl', key, { body, headers })
  assert.equal(r.status, 200, r.text)
  assert.equal(r.headers.etag, etagOf(body))
  assert.equal(r.headers['x-oss-hash-crc64ecma'], crcOf(body))
}

async function get(server: TestServer, key: string, range?: string): Promise<{ status: number; body: Buffer; headers: Record<string, string | string[] | undefined> }> {
  return call(server, 'GET', 'inl', key, range === undefined ? {} : { headers: { range } })
}

async function serverWithBucket(t: Parameters<typeof startTestServer>[0]): Promise<TestServer> {
  const server = await startTestServer(t)
  assert.equal((await call(server, 'PUT', 'inl', undefined)).status, 200)
  return server
}

void test('PutObject of a 4 KiB body through ali-oss is stored inline: no file, byte-exact GET and range GET', async (t) => {
  const server = await serverWithBucket(t)
  const body = randomBytes(4096)
  const client = ossClient(server, { bucket: 'inl' })
  await client.put('small', body)
  assert.deepEqual(await settledHomes(server), { files: 0, inline: 1 })
  assert.deepEqual((await client.get('small')).content, body)
  const ranged = await get(server, 'small', 'bytes=1000-1999')
  assert.equal(ranged.status, 206)
  assert.deepEqual(ranged.body, body.subarray(1000, 2000))
  const tail = await get(server, 'small', 'bytes=-10')
  assert.deepEqual(tail.body, body.subarray(-10))
  await assertStoreInvariants(server.dataDir)
})

void test('a body of exactly INLINE_MAX bytes is inline and one byte more goes to a blob file', async (t) => {
  const server = await serverWithBucket(t)
  const at = randomBytes(INLINE_MAX)
  const over = randomBytes(INLINE_MAX + 1)
  await put(server, 'at', at)
  assert.deepEqual(await settledHomes(server), { files: 0, inline: 1 })
  await put(server, 'over', over)
  assert.deepEqual(await settledHomes(server), { files: 1, inline: 1 })
  assert.deepEqual((await get(server, 'at')).body, at)
  assert.deepEqual((await get(server, 'over')).body, over)
  assert.deepEqual((await get(server, 'over', `bytes=${INLINE_MAX - 5}-`)).body, over.subarray(INLINE_MAX - 5))
  await assertStoreInvariants(server.dataDir)
})

void test('a chunked PutObject (no Content-Length) of a small body ends inline, byte-exact; a large chunked one goes to a file', async (t) => {
  const server = await serverWithBucket(t)
  const small = randomBytes(3000)
  const large = randomBytes(INLINE_MAX * 3 + 17)
  await put(server, 'chunked-small', small, { 'transfer-encoding': 'chunked' })
  assert.deepEqual(await settledHomes(server), { files: 0, inline: 1 })
  await put(server, 'chunked-large', large, { 'transfer-encoding': 'chunked' })
  assert.deepEqual(await settledHomes(server), { files: 1, inline: 1 })
  assert.deepEqual((await get(server, 'chunked-small')).body, small)
  assert.deepEqual((await get(server, 'chunked-large')).body, large)
  assert.deepEqual(await readdir(join(server.dataDir, 'tmp')), [])
  await assertStoreInvariants(server.dataDir)
})

void test('overwriting and deleting an inline object frees its bytes; an empty object is inline too', async (t) => {
  const server = await serverWithBucket(t)
  await put(server, 'k', Buffer.from('first'))
  await put(server, 'k', Buffer.from('second'))
  assert.deepEqual(await settledHomes(server), { files: 0, inline: 1 })
  assert.equal((await get(server, 'k')).body.toString(), 'second')
  await put(server, 'empty', Buffer.alloc(0))
  assert.equal((await get(server, 'empty')).body.length, 0)
  assert.deepEqual(await settledHomes(server), { files: 0, inline: 2 })
  assert.equal((await call(server, 'DELETE', 'inl', 'k')).status, 204)
  assert.equal((await call(server, 'DELETE', 'inl', 'empty')).status, 204)
  assert.deepEqual(await settledHomes(server), { files: 0, inline: 0 })
  await assertStoreInvariants(server.dataDir)
})

void test('CopyObject shares an inline blob: the copy outlives its deleted source, and freeing both frees the bytes', async (t) => {
  const server = await serverWithBucket(t)
  const body = randomBytes(5000)
  await put(server, 'src', body)
  const copy = await call(server, 'PUT', 'inl', 'dst', { headers: { 'x-oss-copy-source': '/inl/src' } })
  assert.equal(copy.status, 200, copy.text)
  assert.deepEqual(await settledHomes(server), { files: 0, inline: 1 })
  assert.equal((await call(server, 'DELETE', 'inl', 'src')).status, 204)
  assert.deepEqual((await get(server, 'dst')).body, body)
  assert.deepEqual(await settledHomes(server), { files: 0, inline: 1 })
  await assertStoreInvariants(server.dataDir)
  assert.equal((await call(server, 'DELETE', 'inl', 'dst')).status, 204)
  assert.deepEqual(await settledHomes(server), { files: 0, inline: 0 })
})

void test('AppendObject over inline blobs reads byte-exact whole and in ranges, and a copy of it has the content MD5 as ETag', async (t) => {
  const server = await serverWithBucket(t)
  const pieces = [randomBytes(10), randomBytes(INLINE_MAX), randomBytes(INLINE_MAX + 1), randomBytes(7)]
  let position = 0
  for (const p of pieces) {
    const r = await call(server, 'POST', 'inl', 'app', { query: { append: '', position: String(position) }, body: p })
    assert.equal(r.status, 200, r.text)
    position += p.length
  }
  const all = Buffer.concat(pieces)
  assert.deepEqual(await settledHomes(server), { files: 1, inline: 3 })
  const whole = await get(server, 'app')
  assert.deepEqual(whole.body, all)
  assert.equal(whole.headers['x-oss-hash-crc64ecma'], crcOf(all))
  // A range across the inline, file and inline pieces.
  assert.deepEqual((await get(server, 'app', `bytes=5-${all.length - 3}`)).body, all.subarray(5, all.length - 2))
  const copy = await call(server, 'PUT', 'inl', 'app-copy', { headers: { 'x-oss-copy-source': '/inl/app' } })
  assert.equal(copy.status, 200, copy.text)
  assert.equal(copy.headers.etag, etagOf(all))
  assert.deepEqual((await get(server, 'app-copy')).body, all)
  await assertStoreInvariants(server.dataDir)
})

void test('a multipart object whose last part is an UploadPartCopy of an inline range reads byte-exact; an unlisted inline part is freed', async (t) => {
  const server = await serverWithBucket(t)
  const source = randomBytes(6000)
  const big = randomBytes(100 * 1024)
  await put(server, 'src', source)
  await put(server, 'big', big)
  const init = await call(server, 'POST', 'inl', 'mp', { query: { uploads: '' } })
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(init.text)?.[1] as string
  const p1 = randomBytes(100 * 1024)
  const p3 = source.subarray(100, 1334)
  const uploads: Array<[string, { body?: Buffer; headers?: Record<string, string> }]> = [
    ['1', { body: p1 }],
    ['2', { headers: { 'x-oss-copy-source': '/inl/big' } }],
    ['3', { headers: { 'x-oss-copy-source': '/inl/src', 'x-oss-copy-source-range': 'bytes=100-1333' } }],
    ['4', { body: randomBytes(99) }],
  ]
  for (const [partNumber, options] of uploads) {
    const r = await call(server, 'PUT', 'inl', 'mp', { query: { partNumber, uploadId }, ...options })
    assert.equal(r.status, 200, r.text)
  }
  const listed = [p1, big, p3]
  const xml = `<CompleteMultipartUpload>${listed.map((p, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${etagOf(p)}</ETag></Part>`).join('')}</CompleteMultipartUpload>`
  const done = await call(server, 'POST', 'inl', 'mp', { query: { uploadId }, body: xml })
  assert.equal(done.status, 200, done.text)
  const all = Buffer.concat(listed)
  const whole = await get(server, 'mp')
  assert.deepEqual(whole.body, all)
  assert.equal(whole.headers['x-oss-hash-crc64ecma'], crcOf(all))
  // A range from inside part 2 (a file) into part 3 (inline).
  assert.deepEqual((await get(server, 'mp', `bytes=${all.length - 1300}-${all.length - 2}`)).body, all.subarray(all.length - 1300, all.length - 1))
  // Files: big, part 1, part 2 (a copy is new bytes); inline: src and part 3. Part 4 went with the upload.
  assert.deepEqual(await settledHomes(server), { files: 3, inline: 2 })
  await assertStoreInvariants(server.dataDir)
})

void test('a mirror fill of a small object with Content-Length stages in memory (no staging file while it runs) and commits inline; one of unknown length stages in a file', async (t) => {
  const origin = await startOrigin(t)
  const server = await startTestServer(t, { mirrorAllowPrivate: true })
  await mirrorBucket(server, 'mir', [{ url: origin.url }])
  const body = randomBytes(3000)
  // Dripped in 300-byte pieces: the fill runs for a while, and its staging is watched meanwhile.
  origin.setRoute('/slow', { mode: 'slow', body, chunkSize: 300, delayMs: 15 })
  const pending = call(server, 'GET', 'mir', 'slow')
  let looks = 0
  while (origin.hits('/slow') === 0 || looks < 10) {
    assert.deepEqual(await readdir(join(server.dataDir, 'tmp')), [], 'no staging file during a small fill')
    looks++
    await new Promise((r) => setTimeout(r, 10))
  }
  const got = await pending
  assert.equal(got.status, 200, got.body.toString())
  assert.deepEqual(got.body, body)
  assert.deepEqual(await settledHomes(server), { files: 0, inline: 1 })
  assert.deepEqual((await call(server, 'GET', 'mir', 'slow', { headers: { range: 'bytes=2990-' } })).body, body.subarray(2990))
  origin.setRoute('/chunked', { mode: 'chunked', body: 'unknown length', chunkSize: 4 })
  assert.equal((await call(server, 'GET', 'mir', 'chunked')).body.toString(), 'unknown length')
  assert.deepEqual(await settledHomes(server), { files: 1, inline: 1 })
  await assertStoreInvariants(server.dataDir)
})

void test('a small mirror fill whose origin body is short, too long or MD5-wrong answers the same 424 and stores nothing', async (t) => {
  const origin = await startOrigin(t)
  const server = await startTestServer(t, { mirrorAllowPrivate: true })
  await mirrorBucket(server, 'mir', [
    { number: 1, prefix: 'md5/', url: origin.url, redirect: '<MirrorCheckMd5>true</MirrorCheckMd5>' },
    { number: 2, url: origin.url },
  ])
  origin.setRoute('/short', { mode: 'short-body', declared: 4000, send: 1000 })
  origin.setRoute('/long', { mode: 'long-body', declared: 1000, send: 4000 })
  origin.setRoute('/md5/wrong', { mode: 'wrong-md5', body: randomBytes(2000) })
  assertMirrorFailed(await call(server, 'GET', 'mir', 'short'), 'bytes_mismatch')
  assertMirrorFailed(await call(server, 'GET', 'mir', 'long'), 'bytes_mismatch')
  assertMirrorFailed(await call(server, 'GET', 'mir', 'md5/wrong'), 'md5_mismatch')
  for (const key of ['short', 'long', 'md5/wrong']) await assertNotStored(server, 'mir', key)
  assert.deepEqual(await settledHomes(server), { files: 0, inline: 0 })
  await assertStoreInvariants(server.dataDir)
})
