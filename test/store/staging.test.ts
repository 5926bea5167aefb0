import assert from 'node:assert/strict'
import { createHash, randomBytes, type Hash } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { test } from 'node:test'
import { INLINE_MAX } from '../../src/store/embedded/blobs.js'
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js'
import { SYNC_EVERY } from '../../src/store/embedded/growing.js'
import type { StagingBlob } from '../../src/store/types.js'
import { crc64 } from '../../src/util/crc64.js'
import { assertStoreInvariants } from '../support/store-invariants.js'

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of stream) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

async function openStore(t: { after(fn: () => Promise<void>): void }): Promise<{ store: EmbeddedStore; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'ms-staging-'))
  const store = EmbeddedStore.open(dir)
  t.after(async () => {
    store.close()
    await rm(dir, { recursive: true, force: true })
  })
  store.createBucket({ name: 'bkt', acl: 'private', storageClass: 'Standard', redundancy: 'LRS' })
  return { store, dir }
}

const ATTRS = { headers: {}, userMeta: [], acl: 'default', storageClass: 'Standard', tagging: undefined, mirrored: true } as const

// Unknown length: a staging file; a small announced length: memory, committed inline.
for (const expectedSize of [undefined, 11]) {
  const home = expectedSize === undefined ? 'a staging file' : 'memory (no file), committing inline'
  void test(`StagingBlob tail readers see only released bytes, follow the growing blob, and end on completion: ${home}`, async (t) => {
    const { store, dir } = await openStore(t)
    const staging = await store.openStaging({ maxSize: 1 << 20, expectedSize })
    const wholeP = collect(staging.tail(0))
    const rangedP = collect(staging.tail(3, 6))
    await staging.write(Buffer.from('hello '))
    staging.release(staging.size, false)
    assert.equal((await readdir(join(dir, 'tmp'))).length, expectedSize === undefined ? 1 : 0)
    await staging.write(Buffer.from('world'))
    // Hold back the last byte until the commit, as a fill does.
    staging.release(staging.size - 1, false)
    assert.equal((await rangedP).toString(), 'lo w')
    const staged = await staging.finish()
    const obj = store.putObject('bkt', 'k', staged, ATTRS, { mustBeAbsent: true })
    staging.release(obj.size, true)
    assert.equal((await wholeP).toString(), 'hello world')
    assert.equal(obj.etag, createHash('md5').update('hello world').digest('hex').toUpperCase())
    assert.equal(obj.crc64, crc64(Buffer.from('hello world')).toString())
    assert.equal((await collect(store.openObject(obj))).toString(), 'hello world')
    assert.equal((await collect(staging.tail(6))).toString(), 'world', 'a tail opened after the commit still reads')
    await assertStoreInvariants(dir)
  })
}

void test('StagingBlob abort fails every tail reader and leaves no file behind', async (t) => {
  const { store, dir } = await openStore(t)
  const staging = await store.openStaging({ maxSize: 1 << 20 })
  const reader = staging.tail(0)
  const outcome = collect(reader).then(
    () => 'ended',
    (err: unknown) => err,
  )
  await staging.write(Buffer.from('partial'))
  staging.release(staging.size, false)
  const reason = new Error('origin reset')
  await staging.abort(reason)
  assert.equal(await outcome, reason)
  assert.deepEqual(await readdir(join(dir, 'tmp')), [])
  const swept = await store.sweep()
  assert.equal(swept.removedFiles, 0)
})

void test('StagingBlob tail opened after abort fails with the abort reason, not a missing file', async (t) => {
  const { store } = await openStore(t)
  const staging = await store.openStaging({ maxSize: 1 << 20 })
  await staging.write(Buffer.from('partial'))
  const reason = new Error('origin failed')
  await staging.abort(reason)
  await assert.rejects(collect(staging.tail(0)), (err) => err === reason)
})

void test('StagingBlob refuses bytes past maxSize', async (t) => {
  const { store } = await openStore(t)
  const staging = await store.openStaging({ maxSize: 4 })
  await staging.write(Buffer.from('abcd'))
  await assert.rejects(staging.write(Buffer.from('e')), (err: Error & { code?: string }) => err.code === 'BodyTooLarge')
  await staging.abort(new Error('too large'))
})

void test('StagingBlob in memory counts bytes past its announced size without keeping them, and refuses to finish', async (t) => {
  const { store, dir } = await openStore(t)
  const staging = await store.openStaging({ maxSize: 1 << 20, expectedSize: 4 })
  await staging.write(Buffer.from('abcdef'))
  assert.equal(staging.size, 6)
  staging.release(staging.size, true)
  assert.equal((await collect(staging.tail(0))).toString(), 'abcd', 'readers never see past the announced size')
  await assert.rejects(staging.finish())
  const reason = new Error('bytes mismatch')
  await staging.abort(reason)
  await assert.rejects(collect(staging.tail(0)), (err) => err === reason)
  await assertStoreInvariants(dir)
})

void test('StagingBlob announced just above the inline threshold stages in a file', async (t) => {
  const { store, dir } = await openStore(t)
  const staging = await store.openStaging({ maxSize: 1 << 20, expectedSize: INLINE_MAX + 1 })
  assert.equal((await readdir(join(dir, 'tmp'))).length, 1)
  await staging.write(Buffer.alloc(INLINE_MAX + 1, 3))
  const obj = store.putObject('bkt', 'k', await staging.finish(), ATTRS)
  assert.deepEqual(await collect(store.openObject(obj)), Buffer.alloc(INLINE_MAX + 1, 3))
  await assertStoreInvariants(dir)
})

void test('StagingBlob past several background syncs commits exactly its bytes, and one aborted late leaves no file and no row', async (t) => {
  const { store, dir } = await openStore(t)
  const piece = Buffer.alloc(1024 * 1024)
  const total = 3 * SYNC_EVERY + 12_345
  const write = async (staging: StagingBlob, upTo: number, md5?: Hash): Promise<void> => {
    while (staging.size < upTo) {
      piece.fill(staging.size / piece.length)
      const chunk = piece.subarray(0, Math.min(piece.length, upTo - staging.size))
      md5?.update(chunk)
      await staging.write(chunk)
    }
  }
  // Failed late, after the background syncs of its first 3 × SYNC_EVERY bytes.
  const failed = await store.openStaging({ maxSize: 1 << 30, expectedSize: total })
  await write(failed, total - 1)
  await failed.abort(new Error('origin reset near the end'))
  assert.deepEqual(await readdir(join(dir, 'tmp')), [])
  assert.equal((await store.sweep()).removedFiles, 0)

  const staging = await store.openStaging({ maxSize: 1 << 30, expectedSize: total })
  const md5 = createHash('md5')
  await write(staging, total, md5)
  const obj = store.putObject('bkt', 'big', await staging.finish(), ATTRS, { mustBeAbsent: true })
  assert.equal(obj.size, total)
  assert.equal(obj.etag, md5.digest('hex').toUpperCase())
  assert.deepEqual(await readdir(join(dir, 'tmp')), [])
})

void test('StagingBlob writes an array of chunks in order as one gathered write, hashed like the same bytes in one chunk', async (t) => {
  const { store } = await openStore(t)
  const chunks = Array.from({ length: 150 }, (_, i) => randomBytes(1 + ((i * 48_271) % 130_000)))
  const whole = Buffer.concat(chunks)
  const staging = await store.openStaging({ maxSize: 1 << 30, expectedSize: whole.length })
  const reader = collect(staging.tail(0))
  await staging.write(chunks.slice(0, 100))
  await staging.write(chunks[100] as Buffer)
  await staging.write(chunks.slice(101))
  assert.equal(staging.size, whole.length)
  const obj = store.putObject('bkt', 'gathered', await staging.finish(), ATTRS, { mustBeAbsent: true })
  staging.release(obj.size, true)
  assert.ok((await reader).equals(whole))
  assert.equal(obj.etag, createHash('md5').update(whole).digest('hex').toUpperCase())
  assert.equal(obj.crc64, crc64(whole).toString())
  const small = await store.openStaging({ maxSize: 10 })
  await assert.rejects(small.write([Buffer.alloc(6), Buffer.alloc(5)]), (err: Error & { code?: string }) => err.code === 'BodyTooLarge')
  await small.abort(new Error('too large'))
})

void test('StagingBlob tails get the same bytes whether they keep up (from the last write in memory) or lag (from the file), ranges included', async (t) => {
  const { store } = await openStore(t)
  const chunks = Array.from({ length: 60 }, (_, i) => randomBytes(1 + ((i * 69_621) % 200_000)))
  const whole = Buffer.concat(chunks)
  const staging = await store.openStaging({ maxSize: 1 << 30, expectedSize: whole.length })
  const keeping = collect(staging.tail(0))
  const ranged = collect(staging.tail(70_000, 2_500_000))
  for (let i = 0; i < chunks.length; i += 3) {
    await staging.write(chunks.slice(i, i + 3))
    staging.release(staging.size - 1, false)
    await new Promise((resolve) => setImmediate(resolve))
  }
  const lagging = collect(staging.tail(12_345))
  const obj = store.putObject('bkt', 'tails', await staging.finish(), ATTRS, { mustBeAbsent: true })
  staging.release(obj.size, true)
  assert.ok((await keeping).equals(whole))
  assert.ok((await ranged).equals(whole.subarray(70_000, 2_500_001)))
  assert.ok((await lagging).equals(whole.subarray(12_345)))
})
