import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { test } from 'node:test'
import { INLINE_MAX } from '../../src/store/embedded/blobs.js'
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js'
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
