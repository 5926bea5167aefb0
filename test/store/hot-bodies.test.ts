/**
 * The hot-body cache of the embedded store (store/embedded/hot-bodies.ts), through openShared on a
 * real store in a temp dir: one read for concurrent readers, ranges, no stale bytes after an
 * overwrite, entries gone with their blob, the size limit, the byte cap and its doorkeeper.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import type { TestContext } from 'node:test'
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js'
import type { HotBodiesOptions, HotOutcome } from '../../src/store/embedded/hot-bodies.js'
import { isStoreError } from '../../src/store/errors.js'
import type { SharedBody } from '../../src/store/types.js'
import { attrs, readAll, stage } from './contract.js'

const KiB = 1024

interface Harness {
  readonly store: EmbeddedStore
  readonly reads: Record<HotOutcome, number>
}

async function openStore(t: TestContext, hot: Omit<HotBodiesOptions, 'onRead'> = {}): Promise<Harness> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mirrorstore-hot-'))
  const reads: Record<HotOutcome, number> = { hit: 0, joined: 0, loaded: 0, bypassed: 0 }
  const store = EmbeddedStore.open(dir, { hot: { ...hot, onRead: (o) => reads[o]++ } })
  t.after(async () => {
    store.close()
    await fs.rm(dir, { recursive: true, force: true })
  })
  store.createBucket({ name: 'b', acl: 'private', storageClass: 'Standard', redundancy: 'LRS' })
  return { store, reads }
}

async function put(store: EmbeddedStore, key: string, body: Buffer) {
  return store.putObject('b', key, await stage(store, body), attrs())
}

async function shared(store: EmbeddedStore, ...args: Parameters<EmbeddedStore['openShared']>): Promise<SharedBody> {
  const body = await store.openShared(...args)
  assert.ok(body !== undefined, 'not served from the hot-body cache')
  return body
}

void test('openShared: 50 concurrent first readers of one object get its exact bytes from one blob read and one shared Buffer', async (t) => {
  const { store, reads } = await openStore(t)
  const body = randomBytes(1024 * KiB)
  const obj = await put(store, 'one', body)
  const got = await Promise.all(Array.from({ length: 50 }, () => shared(store, obj)))
  for (const g of got) assert.ok(g.bytes.equals(body))
  assert.ok(got.every((g) => g.bytes.buffer === got[0]?.bytes.buffer), 'every reader has the same Buffer')
  assert.deepEqual(reads, { hit: 0, joined: 49, loaded: 1, bypassed: 0 })
  for (const g of got) g.release()
  const again = await shared(store, obj)
  assert.ok(again.bytes.equals(body))
  again.release()
  assert.equal(reads.hit, 1)
  assert.equal(reads.loaded, 1)
})

void test('openShared: a range of a cached body is the exact slice, without another read', async (t) => {
  const { store, reads } = await openStore(t)
  const body = randomBytes(300 * KiB)
  const obj = await put(store, 'r', body)
  ;(await shared(store, obj)).release()
  for (const [start, end] of [
    [0, 0],
    [1000, 70_000],
    [body.length - 1, body.length - 1],
  ] as const) {
    const part = await shared(store, obj, { start, end })
    assert.ok(part.bytes.equals(body.subarray(start, end + 1)), `${String(start)}-${String(end)}`)
    part.release()
  }
  assert.equal(reads.loaded, 1)
  assert.equal(reads.hit, 3)
})

void test('openShared: after an overwrite the new record gets the new bytes, a reader of the old record keeps the old ones', async (t) => {
  const { store } = await openStore(t)
  const v1 = Buffer.alloc(100 * KiB, 1)
  const v2 = Buffer.alloc(100 * KiB, 2)
  const old = await put(store, 'k', v1)
  const held = await shared(store, old)
  const fresh = await put(store, 'k', v2)
  await store.settled()
  const now = store.findObject('b', 'k')
  assert.ok(now !== undefined)
  const got = await shared(store, now)
  assert.ok(got.bytes.equals(v2))
  assert.equal(now.version, fresh.version)
  assert.ok(held.bytes.equals(v1), 'the lease of the replaced version still holds its bytes')
  got.release()
  held.release()
  // The old version's bytes are gone from disk and from memory.
  await assert.rejects(store.openShared(old), (err) => isStoreError(err, 'ObjectChanged'))
})

void test('openShared: deleting an object frees its cache entry (held bytes drop to zero once its readers are done)', async (t) => {
  const { store } = await openStore(t)
  const body = randomBytes(200 * KiB)
  const obj = await put(store, 'gone', body)
  const lease = await shared(store, obj)
  assert.equal(store.hotHeldBytes, body.length)
  assert.ok(store.deleteObject('b', 'gone'))
  await store.settled()
  assert.equal(store.hotHeldBytes, body.length, 'still counted while a reader holds it')
  assert.ok(lease.bytes.equals(body))
  lease.release()
  assert.equal(store.hotHeldBytes, 0)
  await assert.rejects(store.openShared(obj), (err) => isStoreError(err, 'ObjectChanged'))
})

void test('openShared: an inline object is read from the database, not cached', async (t) => {
  const { store, reads } = await openStore(t)
  const body = randomBytes(4 * KiB)
  const obj = await put(store, 'tiny', body)
  assert.equal(await store.openShared(obj), undefined)
  assert.deepEqual(reads, { hit: 0, joined: 0, loaded: 0, bypassed: 0 })
  assert.ok((await store.readObject(obj)).equals(body))
})

void test('openShared: an object over the size limit is not cached (undefined: the caller streams it)', async (t) => {
  // Both bodies are over INLINE_MAX (64 KiB), so both are files.
  const { store, reads } = await openStore(t, { maxBody: 128 * KiB })
  const big = await put(store, 'big', randomBytes(128 * KiB + 1))
  const small = await put(store, 'small', randomBytes(128 * KiB))
  assert.equal(await store.openShared(big), undefined)
  assert.equal(await store.openShared(big), undefined)
  ;(await shared(store, small)).release()
  assert.equal(store.hotHeldBytes, 128 * KiB)
  assert.deepEqual(reads, { hit: 0, joined: 0, loaded: 1, bypassed: 0 })
  assert.ok((await readAll(store.openObject(big))).length === 128 * KiB + 1)
})

void test('openShared: the byte cap holds; when full, a blob is admitted on its second read and evicts the least recently used', async (t) => {
  const { store, reads } = await openStore(t, { maxBytes: 250 * KiB })
  const bodies = [0, 1, 2].map((i) => Buffer.alloc(100 * KiB, i + 1))
  const objs = await Promise.all(bodies.map((b, i) => put(store, `o${String(i)}`, b)))
  const [a, b, c] = objs as [(typeof objs)[0], (typeof objs)[0], (typeof objs)[0]]
  ;(await shared(store, a)).release()
  ;(await shared(store, b)).release()
  assert.equal(store.hotHeldBytes, 200 * KiB)
  // Full: c's first read is only remembered; a is read again (now the most recent).
  assert.equal(await store.openShared(c), undefined)
  ;(await shared(store, a)).release()
  // c's second read is admitted and evicts b, the least recently used.
  const gotC = await shared(store, c)
  assert.ok(gotC.bytes.equals(bodies[2] as Buffer))
  gotC.release()
  assert.equal(store.hotHeldBytes, 200 * KiB)
  assert.ok(store.hotHeldBytes <= 250 * KiB)
  const before = reads.loaded
  ;(await shared(store, a)).release()
  assert.equal(reads.loaded, before, 'a stayed')
  // b was evicted: read recently, it is admitted again (evicting c), with a new read.
  const gotB = await shared(store, b)
  assert.ok(gotB.bytes.equals(bodies[1] as Buffer))
  gotB.release()
  assert.equal(reads.loaded, before + 1)
  assert.equal(store.hotHeldBytes, 200 * KiB)
})

void test('openShared: an entry a reader holds is never evicted; a blob that fits only by evicting it is not admitted', async (t) => {
  const { store } = await openStore(t, { maxBytes: 150 * KiB })
  const a = await put(store, 'a', Buffer.alloc(100 * KiB, 1))
  const b = await put(store, 'b2', Buffer.alloc(100 * KiB, 2))
  const leaseA = await shared(store, a)
  assert.equal(await store.openShared(b), undefined)
  assert.equal(await store.openShared(b), undefined, 'a is leased: b cannot evict it')
  assert.equal(store.hotHeldBytes, 100 * KiB)
  leaseA.release()
  const leaseB = await shared(store, b)
  assert.ok(leaseB.bytes.equals(Buffer.alloc(100 * KiB, 2)))
  leaseB.release()
  assert.equal(store.hotHeldBytes, 100 * KiB)
})

void test('openShared: multipart objects are not held (their bytes live in several blobs)', async (t) => {
  const { store, reads } = await openStore(t)
  const up = store.createUpload('b', 'mp', attrs())
  store.putPart(up, 1, await stage(store, Buffer.alloc(10 * KiB, 1)))
  store.putPart(up, 2, await stage(store, Buffer.alloc(10 * KiB, 2)))
  const obj = store.completeUpload(up, { parts: 'all', minPartSize: 0 })
  assert.equal(await store.openShared(obj), undefined)
  assert.equal(reads.loaded + reads.bypassed, 0)
})
