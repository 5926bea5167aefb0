/**
 * The ObjectStore contract suite: every engine runs it (see embedded.test.ts). `make` returns a
 * fresh store on a fresh data dir; `reopen` closes the current store and opens the same dir again.
 * The suite closes the store and removes the dir after each test.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import { Readable } from 'node:stream'
import { describe, test } from 'node:test'
import type { TestContext } from 'node:test'
import fc from 'fast-check'
import { isStoreError } from '../../src/store/errors.js'
import type { StoreErrorCode } from '../../src/store/errors.js'
import type { ListObjectsQuery, ObjectAttributes, ObjectRecord, ObjectStore, StagedBlob, WormPolicy } from '../../src/store/types.js'
import { crc64 } from '../../src/util/crc64.js'

export interface StoreHarness {
  readonly store: ObjectStore
  readonly dataDir: string
  reopen(): Promise<ObjectStore>
}

export const KEY_CTRL = 'ctrl\x01\x0a\x0c\x07\r\nkey'
export const KEY_UTF8 = 'ключ/日本語/😀.txt'
export const KEY_DOTDOT = '../../etc/passwd'
export const KEY_MAX = 'k'.repeat(1023)

export function attrs(over: Partial<ObjectAttributes> = {}): ObjectAttributes {
  return {
    headers: { 'content-type': 'text/plain' },
    userMeta: [
      ['b', '2'],
      ['a', '1'],
    ],
    acl: 'default',
    storageClass: 'Standard',
    tagging: undefined,
    mirrored: false,
    ...over,
  }
}

export async function stage(store: ObjectStore, body: string | Buffer, maxSize = 1 << 30): Promise<StagedBlob> {
  return store.stageBlob(Readable.from([Buffer.from(body)]), { maxSize })
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of stream) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

export function md5Hex(b: string | Buffer): string {
  return createHash('md5').update(b).digest('hex').toUpperCase()
}

export function throwsCode(fn: () => unknown, code: StoreErrorCode): void {
  assert.throws(fn, (err: unknown) => isStoreError(err, code))
}

export function bytesCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}

/** Listing model: a sorted array, entries and truncation computed the plain way. */
export function modelList(keys: readonly string[], q: ListObjectsQuery): { entries: string[]; truncated: boolean } {
  const sorted = [...new Set(keys)].sort(bytesCompare)
  const entries: string[] = []
  let truncated = false
  for (const k of sorted) {
    if (!k.startsWith(q.prefix)) continue
    let e = k
    if (q.delimiter !== '') {
      const at = k.indexOf(q.delimiter, q.prefix.length)
      if (at >= 0) e = k.slice(0, at + q.delimiter.length) + '\u0000PREFIX'
    }
    const name = e.endsWith('\u0000PREFIX') ? e.slice(0, -7) : e
    if (bytesCompare(name, q.startAfter) <= 0) continue
    if (entries.at(-1) === e) continue
    if (entries.length >= q.maxKeys) {
      truncated = true
      break
    }
    entries.push(e)
  }
  return { entries, truncated }
}

function names(store: ObjectStore, bucket: string, q: ListObjectsQuery): { entries: string[]; truncated: boolean; nextMarker: string | undefined } {
  const r = store.listObjects(bucket, q)
  return { entries: r.entries.map((e) => (e.kind === 'object' ? e.object.key : e.prefix + '\u0000PREFIX')), truncated: r.truncated, nextMarker: r.nextMarker }
}

const WORM_ID = '0123456789ABCDEF0123456789ABCDEF'

export function objectStoreContract(name: string, make: () => Promise<StoreHarness>): void {
  async function setup(t: TestContext): Promise<{ store: ObjectStore; dataDir: string; reopen(): Promise<ObjectStore> }> {
    const h = await make()
    let current = h.store
    t.after(async () => {
      current.close()
      await fs.rm(h.dataDir, { recursive: true, force: true })
    })
    return {
      store: h.store,
      dataDir: h.dataDir,
      reopen: async () => {
        current = await h.reopen()
        return current
      },
    }
  }

  async function withBucket(t: TestContext, bucket = 'bkt'): Promise<{ store: ObjectStore; dataDir: string; reopen(): Promise<ObjectStore> }> {
    const h = await setup(t)
    h.store.createBucket({ name: bucket, acl: 'private', storageClass: 'Standard', redundancy: 'LRS' })
    return h
  }

  async function put(store: ObjectStore, key: string, body: string | Buffer, bucket = 'bkt'): Promise<ObjectRecord> {
    return store.putObject(bucket, key, await stage(store, body), attrs())
  }

  function lockWorm(store: ObjectStore, bucket = 'bkt', days = 1, createdAt = new Date()): void {
    const worm: WormPolicy = { id: WORM_ID, state: 'Locked', days, createdAt }
    store.updateBucket(bucket, { worm })
  }

  void describe(`${name}: buckets`, () => {
    void test('createBucket stores the bucket and refuses a taken name with BucketExists', async (t) => {
      const { store } = await setup(t)
      const b = store.createBucket({ name: 'alpha', acl: 'public-read', storageClass: 'IA', redundancy: 'ZRS' })
      assert.equal(b.name, 'alpha')
      assert.equal(b.acl, 'public-read')
      assert.equal(b.worm, undefined)
      assert.equal(b.website, undefined)
      assert.deepEqual(store.findBucket('alpha'), b)
      assert.equal(store.findBucket('beta'), undefined)
      throwsCode(() => store.createBucket({ name: 'alpha', acl: 'private', storageClass: 'Standard', redundancy: 'LRS' }), 'BucketExists')
    })

    void test('listBuckets sorts by name and honours prefix, marker and maxKeys', async (t) => {
      const { store } = await setup(t)
      for (const n of ['b-2', 'a-1', 'b-1', 'c-1', 'b-3']) store.createBucket({ name: n, acl: 'private', storageClass: 'Standard', redundancy: 'LRS' })
      assert.deepEqual(
        store.listBuckets({ prefix: '', marker: '', maxKeys: 100 }).buckets.map((b) => b.name),
        ['a-1', 'b-1', 'b-2', 'b-3', 'c-1'],
      )
      const r = store.listBuckets({ prefix: 'b-', marker: 'b-1', maxKeys: 1 })
      assert.deepEqual(
        r.buckets.map((b) => b.name),
        ['b-2'],
      )
      assert.equal(r.truncated, true)
      const r2 = store.listBuckets({ prefix: 'b-', marker: 'b-2', maxKeys: 1 })
      assert.deepEqual(
        r2.buckets.map((b) => b.name),
        ['b-3'],
      )
      assert.equal(r2.truncated, false)
    })

    void test('updateBucket sets and clears acl, website and worm; unknown bucket is BucketNotFound', async (t) => {
      const { store } = await withBucket(t)
      const createdAt = new Date(Math.floor(Date.now() / 1000) * 1000)
      const b = store.updateBucket('bkt', { acl: 'public-read-write', website: '<x/>', worm: { id: WORM_ID, state: 'InProgress', days: 3, createdAt } })
      assert.equal(b.acl, 'public-read-write')
      assert.equal(b.website, '<x/>')
      assert.deepEqual(b.worm, { id: WORM_ID, state: 'InProgress', days: 3, createdAt })
      assert.deepEqual(store.findBucket('bkt'), b)
      const c = store.updateBucket('bkt', { website: null, worm: null })
      assert.equal(c.website, undefined)
      assert.equal(c.worm, undefined)
      assert.equal(c.acl, 'public-read-write')
      throwsCode(() => store.updateBucket('nope', { acl: 'private' }), 'BucketNotFound')
    })

    void test('deleteBucket refuses objects and unfinished uploads with BucketNotEmpty, then removes the bucket and its worm', async (t) => {
      const { store } = await withBucket(t)
      throwsCode(() => store.deleteBucket('nope'), 'BucketNotFound')
      await put(store, 'k', 'v')
      throwsCode(() => store.deleteBucket('bkt'), 'BucketNotEmpty')
      store.deleteObject('bkt', 'k')
      const up = store.createUpload('bkt', 'm', attrs())
      throwsCode(() => store.deleteBucket('bkt'), 'BucketNotEmpty')
      store.abortUpload(up)
      store.updateBucket('bkt', { worm: { id: WORM_ID, state: 'Locked', days: 10, createdAt: new Date() } })
      store.deleteBucket('bkt')
      assert.equal(store.findBucket('bkt'), undefined)
      const again = store.createBucket({ name: 'bkt', acl: 'private', storageClass: 'Standard', redundancy: 'LRS' })
      assert.equal(again.worm, undefined)
    })
  })

  void describe(`${name}: objects`, () => {
    void test('putObject records MD5 ETag, Content-MD5, CRC-64 and attributes; findObject returns the same record', async (t) => {
      const { store } = await withBucket(t)
      const rec = store.putObject('bkt', 'hello.txt', await stage(store, 'hello'), attrs({ tagging: 'a=b', mirrored: true }))
      assert.equal(rec.etag, '5D41402ABC4B2A76B9719D911017C592')
      assert.equal(rec.contentMd5, 'XUFAKrxLKna5cZ2REBfFkg==')
      assert.equal(rec.crc64, '11177612005948864433')
      assert.equal(rec.size, 5)
      assert.equal(rec.type, 'Normal')
      assert.equal(rec.tagging, 'a=b')
      assert.equal(rec.mirrored, true)
      assert.deepEqual(rec.userMeta, [
        ['b', '2'],
        ['a', '1'],
      ])
      assert.deepEqual(rec.headers, { 'content-type': 'text/plain' })
      assert.equal(rec.lastModified.getTime(), rec.writtenAt.getTime())
      assert.deepEqual(store.findObject('bkt', 'hello.txt'), rec)
      assert.equal(store.findObject('bkt', 'other'), undefined)
      assert.equal(store.hasObjects('bkt'), true)
    })

    void test('putObject of an empty body gives the empty MD5 and CRC 0 and reads back empty', async (t) => {
      const { store } = await withBucket(t)
      const rec = await put(store, 'empty', '')
      assert.equal(rec.etag, 'D41D8CD98F00B204E9800998ECF8427E')
      assert.equal(rec.crc64, '0')
      assert.equal((await readAll(store.openObject(rec))).length, 0)
    })

    void test('putObject on a missing bucket is BucketNotFound and leaves the blob staged for discard', async (t) => {
      const { store } = await setup(t)
      const blob = await stage(store, 'x')
      throwsCode(() => store.putObject('nope', 'k', blob, attrs()), 'BucketNotFound')
      await blob.discard()
      await blob.discard()
    })

    void test('lastModifiedOverride is shown as Last-Modified while writtenAt stays the write time', async (t) => {
      const { store } = await withBucket(t)
      const old = new Date('2001-02-03T04:05:06.789Z')
      const rec = store.putObject('bkt', 'm', await stage(store, 'x'), attrs({ lastModifiedOverride: old }))
      assert.equal(rec.lastModified.getTime(), old.getTime())
      assert.ok(rec.writtenAt.getTime() > old.getTime())
      assert.equal(store.findObject('bkt', 'm')?.lastModified.getTime(), old.getTime())
    })

    void test('hostile keys are stored and listed byte-exact', async (t) => {
      const { store } = await withBucket(t)
      for (const k of [KEY_CTRL, KEY_UTF8, KEY_DOTDOT, KEY_MAX]) await put(store, k, k)
      for (const k of [KEY_CTRL, KEY_UTF8, KEY_DOTDOT, KEY_MAX]) {
        const rec = store.findObject('bkt', k)
        assert.ok(rec)
        assert.equal((await readAll(store.openObject(rec))).toString(), k)
      }
      assert.deepEqual(
        store.listObjects('bkt', { prefix: '', delimiter: '', startAfter: '', maxKeys: 10 }).entries.map((e) => (e.kind === 'object' ? e.object.key : '')),
        [KEY_DOTDOT, KEY_CTRL, KEY_MAX, KEY_UTF8].sort(bytesCompare),
      )
    })

    void test('openObject honours inclusive ranges, clipped at the end', async (t) => {
      const { store } = await withBucket(t)
      const body = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251))
      const rec = await put(store, 'r', body)
      assert.deepEqual(await readAll(store.openObject(rec)), body)
      assert.deepEqual(await readAll(store.openObject(rec, { start: 0, end: 0 })), body.subarray(0, 1))
      assert.deepEqual(await readAll(store.openObject(rec, { start: 70_000, end: 150_000 })), body.subarray(70_000, 150_001))
      assert.deepEqual(await readAll(store.openObject(rec, { start: 199_990, end: 500_000 })), body.subarray(199_990))
    })

    void test('an open stream keeps delivering the old bytes after the key is overwritten and deleted', async (t) => {
      const { store } = await withBucket(t)
      const oldBody = Buffer.alloc(1_000_000, 'a')
      const rec = await put(store, 'k', oldBody)
      const stream = store.openObject(rec)
      await put(store, 'k', 'new')
      store.deleteObject('bkt', 'k')
      await new Promise((r) => setTimeout(r, 20))
      assert.deepEqual(await readAll(stream), oldBody)
    })

    void test('putObject over a key replaces it with a new version', async (t) => {
      const { store } = await withBucket(t)
      const a = await put(store, 'k', 'one')
      const b = await put(store, 'k', 'two')
      assert.notEqual(a.version, b.version)
      assert.equal((await readAll(store.openObject(b))).toString(), 'two')
      assert.equal(store.findObject('bkt', 'k')?.version, b.version)
    })

    void test('write conditions: forbidOverwrite, mustBeAbsent and expectVersion', async (t) => {
      const { store } = await withBucket(t)
      const a = await put(store, 'k', 'one')
      const blob = await stage(store, 'two')
      throwsCode(() => store.putObject('bkt', 'k', blob, attrs(), { forbidOverwrite: true }), 'ObjectExists')
      throwsCode(() => store.putObject('bkt', 'k', blob, attrs(), { mustBeAbsent: true }), 'ObjectExists')
      throwsCode(() => store.putObject('bkt', 'k', blob, attrs(), { expectVersion: null }), 'ObjectChanged')
      throwsCode(() => store.putObject('bkt', 'k', blob, attrs(), { expectVersion: 'other' }), 'ObjectChanged')
      throwsCode(() => store.putObject('bkt', 'new', blob, attrs(), { expectVersion: a.version }), 'ObjectChanged')
      const b = store.putObject('bkt', 'k', blob, attrs(), { expectVersion: a.version })
      assert.equal((await readAll(store.openObject(b))).toString(), 'two')
      store.putObject('bkt', 'absent', await stage(store, 'x'), attrs(), { mustBeAbsent: true, forbidOverwrite: true, expectVersion: null })
    })

    void test('stageBlob refuses more than maxSize bytes with BodyTooLarge and honours an abort signal', async (t) => {
      const { store } = await withBucket(t)
      await assert.rejects(store.stageBlob(Readable.from([Buffer.alloc(10), Buffer.alloc(10)]), { maxSize: 15 }), (e: unknown) => isStoreError(e, 'BodyTooLarge'))
      const ok = await store.stageBlob(Readable.from([Buffer.alloc(10)]), { maxSize: 10 })
      assert.equal(ok.size, 10)
      await ok.discard()
      const ac = new AbortController()
      const slow = new Readable({ read() {} })
      slow.push(Buffer.alloc(5))
      const p = store.stageBlob(slow, { maxSize: 100, signal: ac.signal })
      setTimeout(() => ac.abort(), 10)
      await assert.rejects(p)
    })

    void test('deleteObject reports whether it removed something; deleteObjects removes several', async (t) => {
      const { store } = await withBucket(t)
      await put(store, 'a', '1')
      await put(store, 'b', '2')
      await put(store, 'c', '3')
      assert.equal(store.deleteObject('bkt', 'a'), true)
      assert.equal(store.deleteObject('bkt', 'a'), false)
      store.deleteObjects('bkt', ['b', 'c', 'missing', 'b'])
      assert.equal(store.hasObjects('bkt'), false)
    })

    void test('setObjectAcl changes only the ACL; a missing key is ObjectNotFound', async (t) => {
      const { store } = await withBucket(t)
      const a = await put(store, 'a', '1')
      const b = store.setObjectAcl('bkt', 'a', 'public-read')
      assert.equal(b.acl, 'public-read')
      assert.equal(b.etag, a.etag)
      assert.equal(store.findObject('bkt', 'a')?.acl, 'public-read')
      throwsCode(() => store.setObjectAcl('bkt', 'zz', 'private'), 'ObjectNotFound')
    })

    void test('objects survive a reopen', async (t) => {
      const h = await withBucket(t)
      const rec = await put(h.store, 'k', 'persist')
      const store = await h.reopen()
      const again = store.findObject('bkt', 'k')
      assert.deepEqual(again && { ...again }, { ...rec })
      assert.ok(again)
      assert.equal((await readAll(store.openObject(again))).toString(), 'persist')
    })
  })

  void describe(`${name}: copy`, () => {
    void test('copyObject of a Normal object shares its bytes, ETag, CRC and Content-MD5 and takes new attributes', async (t) => {
      const { store } = await withBucket(t)
      store.createBucket({ name: 'dst', acl: 'private', storageClass: 'Standard', redundancy: 'LRS' })
      const src = await put(store, 'src', 'hello')
      const copy = store.copyObject(src, 'dst', 'copy', attrs({ acl: 'public-read', userMeta: [['x', 'y']] }))
      assert.equal(copy.etag, src.etag)
      assert.equal(copy.contentMd5, src.contentMd5)
      assert.equal(copy.crc64, src.crc64)
      assert.equal(copy.type, 'Normal')
      assert.deepEqual(copy.userMeta, [['x', 'y']])
      store.deleteObject('bkt', 'src')
      assert.equal((await readAll(store.openObject(copy))).toString(), 'hello')
    })

    void test('copyObject of a Multipart or Appendable object is Normal with the content MD5 as ETag', async (t) => {
      const { store } = await withBucket(t)
      const up = store.createUpload('bkt', 'mp', attrs())
      store.putPart(up, 1, await stage(store, 'hello'))
      store.putPart(up, 2, await stage(store, 'world'))
      const mp = store.completeUpload(up, { parts: 'all', minPartSize: 0 })
      const c1 = store.copyObject(mp, 'bkt', 'c1', attrs())
      assert.equal(c1.type, 'Normal')
      assert.equal(c1.etag, md5Hex('helloworld'))
      assert.equal(c1.contentMd5, createHash('md5').update('helloworld').digest('base64'))
      assert.equal(c1.crc64, mp.crc64)
      store.appendObject('bkt', 'ap', 0, await stage(store, 'foo'), attrs(), 1000)
      const ap = store.appendObject('bkt', 'ap', 3, await stage(store, 'bar'), attrs(), 1000)
      const c2 = store.copyObject(ap, 'bkt', 'c2', attrs())
      assert.equal(c2.etag, md5Hex('foobar'))
      assert.equal(c2.type, 'Normal')
      assert.equal((await readAll(store.openObject(c2))).toString(), 'foobar')
      store.deleteObject('bkt', 'ap')
      store.deleteObject('bkt', 'mp')
      assert.equal((await readAll(store.openObject(c1))).toString(), 'helloworld')
      assert.equal((await readAll(store.openObject(c2))).toString(), 'foobar')
    })

    void test('copyObject onto itself changes metadata; a stale source is ObjectChanged', async (t) => {
      const { store } = await withBucket(t)
      const src = await put(store, 'k', 'same')
      const self = store.copyObject(src, 'bkt', 'k', attrs({ userMeta: [['n', 'v']] }))
      assert.notEqual(self.version, src.version)
      assert.deepEqual(self.userMeta, [['n', 'v']])
      assert.equal((await readAll(store.openObject(self))).toString(), 'same')
      throwsCode(() => store.copyObject(src, 'bkt', 'other', attrs()), 'ObjectChanged')
      throwsCode(() => store.copyObject(self, 'bkt', 'k', attrs(), { forbidOverwrite: true }), 'ObjectExists')
    })
  })

  void describe(`${name}: append`, () => {
    void test('appendObject builds foo+bar with the CRC of foobar and reports PositionMismatch with the current size', async (t) => {
      const { store } = await withBucket(t)
      const b0 = await stage(store, 'x')
      assert.throws(
        () => store.appendObject('bkt', 'a', 3, b0, attrs(), 100),
        (e: unknown) => isStoreError(e, 'PositionMismatch') && e.detail.currentSize === 0,
      )
      await b0.discard()
      const first = store.appendObject('bkt', 'a', 0, await stage(store, 'foo'), attrs({ tagging: 't=1' }), 100)
      assert.equal(first.type, 'Appendable')
      assert.equal(first.crc64, '10965392271467943256')
      assert.match(first.etag, /^[0-9A-F]{32}$/)
      assert.equal(first.contentMd5, undefined)
      const b1 = await stage(store, 'bar')
      assert.throws(
        () => store.appendObject('bkt', 'a', 2, b1, attrs(), 100),
        (e: unknown) => isStoreError(e, 'PositionMismatch') && e.detail.currentSize === 3,
      )
      const second = store.appendObject('bkt', 'a', 3, b1, attrs({ tagging: 'ignored' }), 100)
      assert.equal(second.crc64, '6001682485122215966')
      assert.equal(second.size, 6)
      assert.equal(second.tagging, 't=1')
      assert.notEqual(second.etag, first.etag)
      assert.notEqual(second.version, first.version)
      assert.equal((await readAll(store.openObject(second))).toString(), 'foobar')
      assert.equal((await readAll(store.openObject(second, { start: 2, end: 3 }))).toString(), 'ob')
      // The older, shorter record still reads its own bytes.
      assert.equal((await readAll(store.openObject(first))).toString(), 'foo')
      const big = await stage(store, 'x'.repeat(95))
      throwsCode(() => store.appendObject('bkt', 'a', 6, big, attrs(), 100), 'BodyTooLarge')
      const empty = store.appendObject('bkt', 'a', 6, await stage(store, ''), attrs(), 100)
      assert.equal(empty.size, 6)
      assert.equal(empty.crc64, second.crc64)
    })

    void test('appendObject on a Normal object is NotAppendable; putObject over an Appendable makes it Normal', async (t) => {
      const { store } = await withBucket(t)
      await put(store, 'n', 'x')
      const b = await stage(store, 'y')
      throwsCode(() => store.appendObject('bkt', 'n', 1, b, attrs(), 100), 'NotAppendable')
      await b.discard()
      store.appendObject('bkt', 'a', 0, await stage(store, 'foo'), attrs(), 100)
      const rec = await put(store, 'a', 'plain')
      assert.equal(rec.type, 'Normal')
      assert.equal((await readAll(store.openObject(rec))).toString(), 'plain')
    })
  })

  void describe(`${name}: multipart`, () => {
    void test('completeUpload of hello+world gives the S3-style ETag, the combined CRC and type Multipart', async (t) => {
      const { store } = await withBucket(t)
      const up = store.createUpload('bkt', 'mp', attrs({ tagging: 'k=v' }))
      assert.match(up.uploadId, /^[0-9A-F]{32}$/)
      assert.deepEqual(store.findUpload('bkt', 'mp', up.uploadId), up)
      assert.equal(store.findUpload('bkt', 'other', up.uploadId), undefined)
      const p1 = store.putPart(up, 1, await stage(store, 'hello'))
      assert.equal(p1.etag, '5D41402ABC4B2A76B9719D911017C592')
      assert.equal(p1.crc64, '11177612005948864433')
      store.putPart(up, 2, await stage(store, 'world'))
      const rec = store.completeUpload(up, {
        parts: [
          { partNumber: 1, etag: '"5d41402abc4b2a76b9719d911017c592"' },
          { partNumber: 2, etag: md5Hex('world') },
        ],
        minPartSize: 5,
      })
      assert.equal(rec.etag, '065947336A2F2A95BA8899F3675C3BE6-2')
      assert.equal(rec.crc64, crc64(Buffer.from('helloworld')).toString())
      assert.equal(rec.type, 'Multipart')
      assert.equal(rec.contentMd5, undefined)
      assert.equal(rec.tagging, 'k=v')
      assert.equal(rec.size, 10)
      assert.equal((await readAll(store.openObject(rec))).toString(), 'helloworld')
      assert.equal((await readAll(store.openObject(rec, { start: 3, end: 6 }))).toString(), 'lowo')
      assert.equal(store.findUpload('bkt', 'mp', up.uploadId), undefined)
      throwsCode(() => store.abortUpload(up), 'UploadNotFound')
    })

    void test('completeUpload checks parts: InvalidPart, InvalidPartOrder, PartTooSmall, and leaves the upload unchanged', async (t) => {
      const { store } = await withBucket(t)
      const up = store.createUpload('bkt', 'mp', attrs())
      store.putPart(up, 1, await stage(store, 'aaaa'))
      store.putPart(up, 2, await stage(store, 'bb'))
      store.putPart(up, 3, await stage(store, 'c'))
      const e = (n: number, s: string): { partNumber: number; etag: string } => ({ partNumber: n, etag: md5Hex(s) })
      assert.throws(
        () => store.completeUpload(up, { parts: [e(1, 'aaaa'), e(2, 'xx')], minPartSize: 0 }),
        (err: unknown) => isStoreError(err, 'InvalidPart') && err.detail.partNumber === 2,
      )
      throwsCode(() => store.completeUpload(up, { parts: [e(1, 'aaaa'), e(4, 'c')], minPartSize: 0 }), 'InvalidPart')
      throwsCode(() => store.completeUpload(up, { parts: [e(2, 'bb'), e(1, 'aaaa')], minPartSize: 0 }), 'InvalidPartOrder')
      throwsCode(() => store.completeUpload(up, { parts: [e(1, 'aaaa'), e(1, 'aaaa')], minPartSize: 0 }), 'InvalidPartOrder')
      assert.throws(
        () => store.completeUpload(up, { parts: [e(1, 'aaaa'), e(2, 'bb'), e(3, 'c')], minPartSize: 3 }),
        (err: unknown) => isStoreError(err, 'PartTooSmall') && err.detail.partNumber === 2,
      )
      assert.equal(store.listParts(up, { partNumberMarker: 0, maxParts: 10 }).parts.length, 3)
      const rec = store.completeUpload(up, { parts: [e(1, 'aaaa'), e(3, 'c')], minPartSize: 3 })
      assert.equal((await readAll(store.openObject(rec))).toString(), 'aaaac')
      assert.equal(rec.etag.endsWith('-2'), true)
    })

    void test("completeUpload with 'all' takes every part in order; putPart replaces a part number", async (t) => {
      const { store } = await withBucket(t)
      const up = store.createUpload('bkt', 'mp', attrs())
      store.putPart(up, 2, await stage(store, 'second'))
      store.putPart(up, 1, await stage(store, 'old'))
      store.putPart(up, 1, await stage(store, 'first'))
      const rec = store.completeUpload(up, { parts: 'all', minPartSize: 0 })
      assert.equal((await readAll(store.openObject(rec))).toString(), 'firstsecond')
      const late = await stage(store, 'late')
      throwsCode(() => store.putPart(up, 3, late), 'UploadNotFound')
      await late.discard()
    })

    void test('listParts pages with partNumberMarker and maxParts', async (t) => {
      const { store } = await withBucket(t)
      const up = store.createUpload('bkt', 'mp', attrs())
      for (const n of [1, 2, 3, 5]) store.putPart(up, n, await stage(store, `p${n}`))
      const a = store.listParts(up, { partNumberMarker: 0, maxParts: 2 })
      assert.deepEqual(
        a.parts.map((p) => p.partNumber),
        [1, 2],
      )
      assert.equal(a.truncated, true)
      assert.equal(a.nextPartNumberMarker, 2)
      const b = store.listParts(up, { partNumberMarker: 2, maxParts: 2 })
      assert.deepEqual(
        b.parts.map((p) => p.partNumber),
        [3, 5],
      )
      assert.equal(b.truncated, false)
      assert.equal(b.parts[1]?.size, 2)
    })

    void test('listUploads orders by key then upload id, honours markers, prefix and delimiter', async (t) => {
      const { store } = await withBucket(t)
      const u1 = store.createUpload('bkt', 'b', attrs())
      const u2 = store.createUpload('bkt', 'b', attrs())
      const u3 = store.createUpload('bkt', 'a', attrs())
      store.createUpload('bkt', 'dir/x', attrs())
      store.createUpload('bkt', 'dir/y', attrs())
      assert.ok(u1.uploadId < u2.uploadId)
      const all = store.listUploads('bkt', { prefix: '', delimiter: '', keyMarker: '', uploadIdMarker: '', maxUploads: 100 })
      assert.deepEqual(
        all.entries.map((e) => (e.kind === 'upload' ? `${e.upload.key}:${e.upload.uploadId}` : e.prefix)),
        [`a:${u3.uploadId}`, `b:${u1.uploadId}`, `b:${u2.uploadId}`, expect('dir/x'), expect('dir/y')],
      )
      function expect(k: string): string {
        const e = all.entries.find((x) => x.kind === 'upload' && x.upload.key === k)
        return e?.kind === 'upload' ? `${k}:${e.upload.uploadId}` : ''
      }
      const page = store.listUploads('bkt', { prefix: '', delimiter: '/', keyMarker: '', uploadIdMarker: '', maxUploads: 2 })
      assert.equal(page.truncated, true)
      assert.equal(page.nextKeyMarker, 'b')
      assert.equal(page.nextUploadIdMarker, u1.uploadId)
      const next = store.listUploads('bkt', { prefix: '', delimiter: '/', keyMarker: 'b', uploadIdMarker: u1.uploadId, maxUploads: 2 })
      assert.deepEqual(
        next.entries.map((e) => (e.kind === 'upload' ? e.upload.uploadId : e.prefix)),
        [u2.uploadId, 'dir/'],
      )
      assert.equal(next.truncated, false)
      const idIgnored = store.listUploads('bkt', { prefix: '', delimiter: '', keyMarker: '', uploadIdMarker: u1.uploadId, maxUploads: 100 })
      assert.equal(idIgnored.entries.length, 5)
      const keyOnly = store.listUploads('bkt', { prefix: '', delimiter: '', keyMarker: 'b', uploadIdMarker: '', maxUploads: 100 })
      assert.equal(keyOnly.entries.length, 2)
      const pre = store.listUploads('bkt', { prefix: 'dir/', delimiter: '/', keyMarker: '', uploadIdMarker: '', maxUploads: 100 })
      assert.deepEqual(
        pre.entries.map((e) => (e.kind === 'upload' ? e.upload.key : e.prefix)),
        ['dir/x', 'dir/y'],
      )
    })

    void test('abortUpload removes the upload and its parts', async (t) => {
      const { store } = await withBucket(t)
      const up = store.createUpload('bkt', 'mp', attrs())
      store.putPart(up, 1, await stage(store, 'x'))
      store.abortUpload(up)
      assert.equal(store.findUpload('bkt', 'mp', up.uploadId), undefined)
      throwsCode(() => store.listParts(up, { partNumberMarker: 0, maxParts: 10 }), 'UploadNotFound')
      throwsCode(() => store.createUpload('nope', 'k', attrs()), 'BucketNotFound')
    })
  })

  void describe(`${name}: retention`, () => {
    void test('a protected object cannot be overwritten, copied onto, appended to, completed onto or deleted', async (t) => {
      const { store } = await withBucket(t)
      const n = await put(store, 'n', 'x')
      store.appendObject('bkt', 'a', 0, await stage(store, 'x'), attrs(), 100)
      lockWorm(store)
      const blob = await stage(store, 'y')
      throwsCode(() => store.putObject('bkt', 'n', blob, attrs()), 'ObjectImmutable')
      throwsCode(() => store.putObject('bkt', 'n', blob, attrs(), { mustBeAbsent: true }), 'ObjectImmutable')
      throwsCode(() => store.appendObject('bkt', 'a', 1, blob, attrs(), 100), 'ObjectImmutable')
      throwsCode(() => store.copyObject(n, 'bkt', 'n', attrs()), 'ObjectImmutable')
      throwsCode(() => store.deleteObject('bkt', 'n'), 'ObjectImmutable')
      assert.throws(
        () => store.deleteObjects('bkt', ['zz', 'n']),
        (e: unknown) => isStoreError(e, 'ObjectImmutable') && e.detail.key === 'n',
      )
      const up = store.createUpload('bkt', 'n', attrs())
      store.putPart(up, 1, await stage(store, 'part'))
      throwsCode(() => store.completeUpload(up, { parts: 'all', minPartSize: 0 }), 'ObjectImmutable')
      assert.ok(store.findUpload('bkt', 'n', up.uploadId))
      store.abortUpload(up)
      // New keys, reads, copies from a protected source and ACL changes stay allowed.
      store.putObject('bkt', 'fresh', blob, attrs())
      store.copyObject(n, 'bkt', 'copy', attrs())
      store.setObjectAcl('bkt', 'n', 'private')
      assert.equal((await readAll(store.openObject(n))).toString(), 'x')
    })

    void test('deleteObjects is all or nothing under retention', async (t) => {
      const { store } = await withBucket(t)
      await put(store, 'old', '1')
      lockWorm(store)
      throwsCode(() => store.deleteObjects('bkt', ['old']), 'ObjectImmutable')
      assert.ok(store.findObject('bkt', 'old'))
      store.updateBucket('bkt', { worm: null })
      await put(store, 'other', '2')
      store.deleteObjects('bkt', ['old', 'other'])
      assert.equal(store.hasObjects('bkt'), false)
    })

    void test('a lapsed InProgress policy protects nothing', async (t) => {
      const { store } = await withBucket(t)
      await put(store, 'k', '1')
      store.updateBucket('bkt', { worm: { id: WORM_ID, state: 'InProgress', days: 30, createdAt: new Date(Date.now() - 25 * 3600 * 1000) } })
      assert.equal(store.deleteObject('bkt', 'k'), true)
      await put(store, 'k2', '1')
      store.updateBucket('bkt', { worm: { id: WORM_ID, state: 'InProgress', days: 30, createdAt: new Date() } })
      throwsCode(() => store.deleteObject('bkt', 'k2'), 'ObjectImmutable')
    })
  })

  void describe(`${name}: listing`, () => {
    void test('delimiter rolls keys into common prefixes; a prefix at or before startAfter is skipped (OSS example)', async (t) => {
      const { store } = await withBucket(t)
      const blob = await put(store, 'seed', '')
      const keys = ['p/fun/a.jpg', 'p/fun/b.jpg', 'p/oss.jpg', 'p/sub/x', 'p/z.jpg', 'q/other']
      for (const k of keys) store.copyObject(blob, 'bkt', k, attrs())
      const q = (over: Partial<ListObjectsQuery>): ReturnType<typeof names> =>
        names(store, 'bkt', { prefix: 'p/', delimiter: '/', startAfter: '', maxKeys: 100, ...over })
      assert.deepEqual(q({}).entries, ['p/fun/\u0000PREFIX', 'p/oss.jpg', 'p/sub/\u0000PREFIX', 'p/z.jpg'])
      assert.deepEqual(q({ startAfter: 'p/oss.jpg' }).entries, ['p/sub/\u0000PREFIX', 'p/z.jpg'])
      assert.deepEqual(q({ startAfter: 'p/fun/a.jpg' }).entries, ['p/oss.jpg', 'p/sub/\u0000PREFIX', 'p/z.jpg'])
      const page = q({ maxKeys: 2 })
      assert.equal(page.truncated, true)
      assert.equal(page.nextMarker, 'p/oss.jpg')
      const last = q({ startAfter: 'p/sub/', maxKeys: 1 })
      assert.deepEqual(last.entries, ['p/z.jpg'])
      assert.equal(last.truncated, false)
      assert.equal(last.nextMarker, undefined)
      const none = names(store, 'bkt', { prefix: '', delimiter: '', startAfter: '', maxKeys: 7 })
      assert.equal(none.truncated, false)
      assert.equal(none.entries.length, 7)
    })

    void test('listing order is UTF-8 byte order, not UTF-16 order', async (t) => {
      const { store } = await withBucket(t)
      const seed = await put(store, 'seed', '')
      const keys = ['\u{E000}', '😀', 'z', 'é', '\uFFFF', 'A']
      for (const k of keys) store.copyObject(seed, 'bkt', k, attrs())
      const all = names(store, 'bkt', { prefix: '', delimiter: '', startAfter: '', maxKeys: 100 }).entries
      assert.deepEqual(all, [...keys, 'seed'].sort(bytesCompare))
      assert.deepEqual(names(store, 'bkt', { prefix: '', delimiter: '', startAfter: '\uFFFF', maxKeys: 100 }).entries, ['😀'])
    })

    void test('listObjects matches a sorted-array model for random keys and queries (property)', async (t) => {
      const { store } = await withBucket(t)
      const seed = await put(store, 'seed', '')
      const chars = ['a', 'b', '/', '-', 'é', '\u{E000}', '😀', '\uFFFF']
      const str = (min: number, max: number): fc.Arbitrary<string> => fc.string({ unit: fc.constantFrom(...chars), minLength: min, maxLength: max })
      const query = fc.record({
        prefix: str(0, 2),
        delimiter: fc.constantFrom('', '/', 'é', '😀', 'a/'),
        startAfter: str(0, 4),
        maxKeys: fc.integer({ min: 0, max: 8 }),
      })
      let bucketNo = 0
      fc.assert(
        fc.property(fc.uniqueArray(str(1, 6), { maxLength: 14 }), fc.array(query, { minLength: 1, maxLength: 6 }), (keys, queries) => {
          const bucket = `prop-${bucketNo++}`
          store.createBucket({ name: bucket, acl: 'private', storageClass: 'Standard', redundancy: 'LRS' })
          for (const k of keys) store.copyObject(seed, bucket, k, attrs())
          for (const q of queries) {
            const got = names(store, bucket, q)
            const want = modelList(keys, q)
            assert.deepEqual({ entries: got.entries, truncated: got.truncated }, want, JSON.stringify({ keys, q }))
            const last = got.entries.at(-1)
            assert.equal(got.nextMarker, got.truncated && last !== undefined ? last.replace('\u0000PREFIX', '') : undefined)
          }
          // Paging with nextMarker visits exactly the unpaged listing.
          const q0 = queries[0] as ListObjectsQuery
          const pageSize = Math.max(1, q0.maxKeys)
          const whole = modelList(keys, { ...q0, maxKeys: Number.MAX_SAFE_INTEGER }).entries
          const paged: string[] = []
          let marker = q0.startAfter
          for (let guard = 0; guard < 100; guard++) {
            const r = names(store, bucket, { ...q0, startAfter: marker, maxKeys: pageSize })
            paged.push(...r.entries)
            if (!r.truncated) break
            marker = r.nextMarker ?? ''
          }
          assert.deepEqual(paged, whole)
          store.deleteObjects(bucket, keys)
          store.deleteBucket(bucket)
        }),
        { numRuns: 60, seed: 20240611, verbose: true },
      )
    })
  })
}
