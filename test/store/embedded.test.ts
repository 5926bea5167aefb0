import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { describe, test } from 'node:test'
import type { TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { Readable } from 'node:stream'
import { INLINE_MAX } from '../../src/store/embedded/blobs.js'
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js'
import type { ObjectRecord } from '../../src/store/types.js'
import { crc64 } from '../../src/util/crc64.js'
import { assertStoreInvariants } from '../support/store-invariants.js'
import { tempDir as makeTempDir } from '../support/temp-dir.js'
import { attrs, KEY_CTRL, KEY_DOTDOT, KEY_UTF8, md5Hex, objectStoreContract, readAll, stage, throwsCode } from './contract.js'

objectStoreContract('EmbeddedStore', async () => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mirrorstore-store-'))
  let store = EmbeddedStore.open(dataDir)
  return {
    store,
    dataDir,
    reopen: () => {
      store.close()
      store = EmbeddedStore.open(dataDir)
      return Promise.resolve(store)
    },
  }
})

// ── embedded-specific ──

const tempDir = (t: TestContext): Promise<string> => makeTempDir(t, 'mirrorstore-embedded-')

function openStore(t: TestContext, dir: string, options: { now?: () => Date } = {}): EmbeddedStore {
  const store = EmbeddedStore.open(dir, options)
  t.after(() => store.close())
  return store
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(path.relative(dir, path.join(e.parentPath, e.name)))
  }
  return out.sort()
}

void describe('EmbeddedStore internals', () => {
  void test('the data dir holds only meta.db, epoch, blobs/xx/<id> and tmp/; keys never become paths', async (t) => {
    const dir = await tempDir(t)
    const store = openStore(t, dir)
    store.createBucket({ name: 'b', acl: 'private', storageClass: 'Standard', redundancy: 'LRS' })
    for (const k of [KEY_DOTDOT, KEY_UTF8, KEY_CTRL]) store.putObject('b', k, await stage(store, k), attrs())
    for (const f of await filesUnder(dir)) {
      assert.match(f, /^(meta\.db(-wal|-shm)?|epoch|blobs\/[0-9a-f]{2}\/[0-9a-f]{32})$/, f)
    }
    await assertStoreInvariants(dir)
  })

  // The same refcount story for both homes of a blob: small bodies inline in meta.db, larger ones in files.
  for (const home of ['inline', 'file'] as const) {
    void test(`${home} blobs go once no row references them; shared blobs stay while one reference remains`, async (t) => {
      const dir = await tempDir(t)
      const store = openStore(t, dir)
      store.createBucket({ name: 'b', acl: 'private', storageClass: 'Standard', redundancy: 'LRS' })
      const pad = home === 'file' ? '.'.repeat(INLINE_MAX) : ''
      const body = (s: string): string => s + pad
      const db = new Database(path.join(dir, 'meta.db'), { readonly: true })
      t.after(() => db.close())
      const files = async (): Promise<number> => (await filesUnder(dir)).filter((f) => f.startsWith('blobs')).length
      const inlineRows = (): number => (db.prepare('SELECT count(*) AS n FROM blob_bytes').get() as { n: number }).n
      const blobCount = async (): Promise<number> => {
        await store.settled()
        // Each blob lives in exactly one home.
        if (home === 'inline') assert.equal(await files(), 0, 'no blob file for a small body')
        else assert.equal(inlineRows(), 0, 'no inline bytes for a large body')
        return home === 'inline' ? inlineRows() : files()
      }
      const a = store.putObject('b', 'a', await stage(store, body('one')), attrs())
      store.copyObject(a, 'b', 'copy', attrs())
      store.putObject('b', 'a', await stage(store, body('two')), attrs())
      assert.equal(await blobCount(), 2)
      store.deleteObject('b', 'copy')
      assert.equal(await blobCount(), 1)
      const up = store.createUpload('b', 'mp', attrs())
      store.putPart(up, 1, await stage(store, body('p1')))
      store.putPart(up, 1, await stage(store, body('p1 again')))
      store.putPart(up, 2, await stage(store, body('p2')))
      store.putPart(up, 3, await stage(store, body('p3')))
      assert.equal(await blobCount(), 4)
      const mp = store.completeUpload(up, { parts: [{ partNumber: 1, etag: md5Hex(body('p1 again')) }, { partNumber: 3, etag: md5Hex(body('p3')) }], minPartSize: 0 })
      assert.equal(await blobCount(), 3)
      await assertStoreInvariants(dir)
      const mpCopy = store.copyObject(mp, 'b', 'mpcopy', attrs())
      assert.equal(mpCopy.etag, md5Hex(body('p1 again') + body('p3')))
      assert.equal((await readAll(store.openObject(mpCopy, { start: 2, end: pad.length + 9 }))).toString(), (body('p1 again') + body('p3')).slice(2, pad.length + 10))
      store.deleteObjects('b', ['mp', 'a'])
      assert.equal(await blobCount(), 2)
      await assertStoreInvariants(dir)
      let app = store.appendObject('b', 'app', 0, await stage(store, body('x')), attrs(), 1 << 30)
      app = store.appendObject('b', 'app', app.size, await stage(store, ''), attrs(), 1 << 30)
      app = store.appendObject('b', 'app', app.size, await stage(store, body('y')), attrs(), 1 << 30)
      assert.equal((await readAll(store.openObject(app))).toString(), body('x') + body('y'))
      assert.equal(app.crc64, crc64(Buffer.from(body('x') + body('y'))).toString())
      assert.equal(await blobCount(), 4)
      store.deleteObjects('b', ['app', 'copy', 'mpcopy'])
      assert.equal(await blobCount(), 0)
      await assertStoreInvariants(dir)
    })
  }

  void test('a body of INLINE_MAX bytes is inline, one byte more is a file, and a staged inline body dropped uncommitted leaves nothing', async (t) => {
    const dir = await tempDir(t)
    const store = openStore(t, dir)
    store.createBucket({ name: 'b', acl: 'private', storageClass: 'Standard', redundancy: 'LRS' })
    const at = Buffer.alloc(INLINE_MAX, 7)
    const over = Buffer.alloc(INLINE_MAX + 1, 8)
    // Many small chunks: the split into memory and file must not depend on chunk boundaries.
    const chunked = (b: Buffer): Readable => Readable.from(Array.from({ length: Math.ceil(b.length / 1000) }, (_, i) => b.subarray(i * 1000, (i + 1) * 1000)))
    const small = store.putObject('b', 'at', await store.stageBlob(chunked(at), { maxSize: 1 << 30 }), attrs())
    assert.deepEqual(await filesUnder(dir), ['epoch', 'meta.db', 'meta.db-shm', 'meta.db-wal'])
    const big = store.putObject('b', 'over', await store.stageBlob(chunked(over), { maxSize: 1 << 30 }), attrs())
    assert.equal((await filesUnder(dir)).filter((f) => f.startsWith('blobs/')).length, 1)
    assert.deepEqual(await readAll(store.openObject(small)), at)
    assert.deepEqual(await readAll(store.openObject(big)), over)
    assert.deepEqual(await store.readObject(small, { start: 10, end: 20 }), at.subarray(10, 21))
    assert.equal(small.etag, md5Hex(at))
    assert.equal(small.crc64, crc64(at).toString())
    await (await stage(store, 'staged, never committed')).discard()
    await assert.rejects(store.stageBlob(chunked(at), { maxSize: INLINE_MAX - 1 }), (err: Error & { code?: string }) => err.code === 'BodyTooLarge')
    await assertStoreInvariants(dir)
  })

  void test('a reader opened on an inline object keeps its bytes after the key is overwritten; a stale record then throws ObjectChanged', async (t) => {
    const dir = await tempDir(t)
    const store = openStore(t, dir)
    store.createBucket({ name: 'b', acl: 'private', storageClass: 'Standard', redundancy: 'LRS' })
    const old = store.putObject('b', 'k', await stage(store, 'old bytes'), attrs())
    const stream = store.openObject(old, { start: 4, end: 8 })
    const whole = store.readObject(old)
    store.putObject('b', 'k', await stage(store, 'new bytes'), attrs())
    assert.equal((await readAll(stream)).toString(), 'bytes')
    assert.equal((await whole).toString(), 'old bytes')
    throwsCode(() => store.openObject(old), 'ObjectChanged')
    throwsCode(() => store.readObject(old), 'ObjectChanged')
    await assertStoreInvariants(dir)
  })

  void test('an object of many inline segments reads whole beyond the eager budget, and fails with ObjectChanged if freed before a lazy piece', async (t) => {
    const dir = await tempDir(t)
    const store = openStore(t, dir)
    store.createBucket({ name: 'b', acl: 'private', storageClass: 'Standard', redundancy: 'LRS' })
    let rec: ObjectRecord | undefined
    const chunks: Buffer[] = []
    // 40 × 60 KiB: more inline bytes than one open reads eagerly (1 MiB).
    for (let i = 0; i < 40; i++) {
      const chunk = Buffer.alloc(60 * 1024, i)
      chunks.push(chunk)
      rec = store.appendObject('b', 'a', rec?.size ?? 0, await stage(store, chunk), attrs(), 1 << 30)
    }
    assert.ok(rec)
    const all = Buffer.concat(chunks)
    assert.deepEqual(await readAll(store.openObject(rec)), all)
    assert.deepEqual(await readAll(store.openObject(rec, { start: 100_000, end: 2_000_000 })), all.subarray(100_000, 2_000_001))
    const early = store.openObject(rec)
    store.deleteObject('b', 'a')
    await assert.rejects(readAll(early), (err: unknown) => (err as { code?: string }).code === 'ObjectChanged')
    await assertStoreInvariants(dir)
  })

  void test('openObject on a stale record whose bytes were freed throws ObjectChanged; a serialized record is looked up', async (t) => {
    const dir = await tempDir(t)
    const store = openStore(t, dir)
    store.createBucket({ name: 'b', acl: 'private', storageClass: 'Standard', redundancy: 'LRS' })
    const old = store.putObject('b', 'k', await stage(store, 'old'), attrs())
    const plain = JSON.parse(JSON.stringify(old)) as ObjectRecord
    assert.equal((await readAll(store.openObject(plain))).toString(), 'old')
    store.putObject('b', 'k', await stage(store, 'new'), attrs())
    await store.settled()
    throwsCode(() => store.openObject(old), 'ObjectChanged')
    throwsCode(() => store.openObject(plain), 'ObjectChanged')
  })

  void test('prepareCopy caches the MD5 of a Multipart source so copyObject reads nothing', async (t) => {
    const dir = await tempDir(t)
    const store = openStore(t, dir)
    store.createBucket({ name: 'b', acl: 'private', storageClass: 'Standard', redundancy: 'LRS' })
    const up = store.createUpload('b', 'mp', attrs())
    store.putPart(up, 1, await stage(store, 'hello'))
    store.putPart(up, 2, await stage(store, 'world'))
    const mp = store.completeUpload(up, { parts: 'all', minPartSize: 0 })
    await store.prepareCopy(mp)
    const db = new Database(path.join(dir, 'meta.db'), { readonly: true })
    t.after(() => db.close())
    assert.equal((db.prepare("SELECT md5 FROM objects WHERE key = 'mp'").get() as { md5: string }).md5, md5Hex('helloworld'))
    const copy = store.copyObject(mp, 'b', 'c', attrs())
    assert.equal(copy.etag, md5Hex('helloworld'))
    assert.equal(store.findObject('b', 'mp')?.etag, '065947336A2F2A95BA8899F3675C3BE6-2')
  })

  void test('two stores on one data dir see each other\'s commits', async (t) => {
    const dir = await tempDir(t)
    const a = openStore(t, dir)
    const b = openStore(t, dir)
    a.createBucket({ name: 'b', acl: 'private', storageClass: 'Standard', redundancy: 'LRS' })
    const rec = a.putObject('b', 'k', await stage(a, 'shared'), attrs())
    const seen = b.findObject('b', 'k')
    assert.equal(seen?.version, rec.version)
    b.deleteObject('b', 'k')
    assert.equal(a.findObject('b', 'k'), undefined)
    await b.settled()
    throwsCode(() => a.openObject(rec), 'ObjectChanged')
  })

  void test('destroying a stream early releases it; a many-segment append object streams in order', async (t) => {
    const dir = await tempDir(t)
    const store = openStore(t, dir)
    store.createBucket({ name: 'b', acl: 'private', storageClass: 'Standard', redundancy: 'LRS' })
    let rec: ObjectRecord | undefined
    const parts: Buffer[] = []
    for (let i = 0; i < 300; i++) {
      const chunk = Buffer.alloc(1 + (i % 7), 65 + (i % 26))
      parts.push(chunk)
      rec = store.appendObject('b', 'a', rec?.size ?? 0, await stage(store, chunk), attrs(), 1 << 20)
    }
    assert.ok(rec)
    const all = Buffer.concat(parts)
    assert.deepEqual(await readAll(store.openObject(rec)), all)
    assert.deepEqual(await readAll(store.openObject(rec, { start: 100, end: 900 })), all.subarray(100, 901))
    assert.equal(rec.crc64, crc64(all).toString())
    const s = store.openObject(rec)
    s.destroy()
    await new Promise((r) => s.once('close', r))
  })

  void test('sweep removes temp files and unreferenced blob files and keeps committed ones, inline ones included', async (t) => {
    const dir = await tempDir(t)
    let store = EmbeddedStore.open(dir)
    store.createBucket({ name: 'b', acl: 'private', storageClass: 'Standard', redundancy: 'LRS' })
    const big = Buffer.alloc(INLINE_MAX + 1, 1)
    const kept = store.putObject('b', 'k', await stage(store, big), attrs())
    const keptInline = store.putObject('b', 'small', await stage(store, 'kept inline'), attrs())
    await stage(store, Buffer.alloc(INLINE_MAX + 10, 2))
    await fs.writeFile(path.join(dir, 'tmp', 'partial'), 'half a body')
    store.close()
    store = openStore(t, dir)
    const r = await store.sweep()
    assert.equal(r.removedFiles, 2)
    assert.equal(r.removedBytes, INLINE_MAX + 10 + 'half a body'.length)
    assert.deepEqual(await readAll(store.openObject(kept)), big)
    // Inline blobs have no file for sweep to judge: they stay, readable.
    assert.equal((await readAll(store.openObject(keptInline))).toString(), 'kept inline')
    await assertStoreInvariants(dir)
    assert.deepEqual(await store.sweep(), { removedFiles: 0, removedBytes: 0 })
  })

  void test('retention expires with the injected clock', async (t) => {
    const dir = await tempDir(t)
    let now = new Date('2030-01-01T00:00:00Z')
    const store = openStore(t, dir, { now: () => now })
    store.createBucket({ name: 'b', acl: 'private', storageClass: 'Standard', redundancy: 'LRS' })
    store.updateBucket('b', { worm: { id: '0123456789ABCDEF0123456789ABCDEF', state: 'Locked', days: 2, createdAt: now } })
    const rec = store.putObject('b', 'k', await stage(store, 'x'), attrs({ lastModifiedOverride: new Date('2000-01-01T00:00:00Z') }))
    assert.equal(rec.writtenAt.getTime(), now.getTime())
    now = new Date(now.getTime() + 2 * 86_400_000 - 1)
    throwsCode(() => store.deleteObject('b', 'k'), 'ObjectImmutable')
    now = new Date(now.getTime() + 1)
    assert.equal(store.deleteObject('b', 'k'), true)
  })

  void test('a SIGKILLed writer leaves whole objects and, after sweep, no orphans', { timeout: 120_000 }, async (t) => {
    const dir = await tempDir(t)
    const writer = fileURLToPath(new URL('./crash-writer.js', import.meta.url))
    for (let round = 0; round < 4; round++) {
      const child = spawn(process.execPath, [writer, dir], { stdio: ['ignore', 'pipe', 'inherit'] })
      const target = 8 + round * 5
      await new Promise<void>((resolve, reject) => {
        let lines = 0
        child.stdout.on('data', (d: Buffer) => {
          lines += d.toString().split('\n').length - 1
          if (lines >= target) {
            // Kill a little later so the kill lands at an arbitrary point of some write.
            setTimeout(() => child.kill('SIGKILL'), round * 3)
            resolve()
          }
        })
        child.on('exit', (code) => {
          if (lines < target) reject(new Error(`Writer exited early with ${String(code)}`))
        })
      })
      await new Promise((r) => child.once('exit', r))
      const store = EmbeddedStore.open(dir)
      try {
        await store.sweep()
        await assertStoreInvariants(dir)
        const list = store.listObjects('b', { prefix: '', delimiter: '', startAfter: '', maxKeys: 1000 })
        assert.ok(list.entries.length > 0)
        for (const e of list.entries) {
          assert.equal(e.kind, 'object')
          if (e.kind !== 'object') continue
          const bytes = await readAll(store.openObject(e.object))
          assert.equal(bytes.length, e.object.size)
          assert.equal(crc64(bytes).toString(), e.object.crc64, e.object.key)
          if (e.object.type === 'Normal') assert.equal(md5Hex(bytes), e.object.etag)
        }
      } finally {
        store.close()
      }
    }
  })
})

void describe('EmbeddedStore record cache', () => {
  void test('a second connection sees every commit of the first: objects, ACLs, deletes and bucket changes', async (t) => {
    const dir = await tempDir(t)
    const writer = openStore(t, dir)
    const reader = openStore(t, dir)
    writer.createBucket({ name: 'b', acl: 'private', storageClass: 'Standard', redundancy: 'LRS' })
    writer.putObject('b', 'k', await stage(writer, 'one'), attrs())
    // Twice, so the second lookup can come from the cache.
    for (let i = 0; i < 2; i++) assert.equal(reader.findObject('b', 'k')?.size, 3)
    assert.equal(reader.findBucket('b')?.acl, 'private')
    writer.putObject('b', 'k', await stage(writer, 'second'), attrs())
    assert.equal(reader.findObject('b', 'k')?.size, 6)
    writer.setObjectAcl('b', 'k', 'public-read')
    assert.equal(reader.findObject('b', 'k')?.acl, 'public-read')
    writer.updateBucket('b', { acl: 'public-read' })
    assert.equal(reader.findBucket('b')?.acl, 'public-read')
    writer.deleteObject('b', 'k')
    assert.equal(reader.findObject('b', 'k'), undefined)
    writer.deleteBucket('b')
    assert.equal(reader.findBucket('b'), undefined)
  })

  void test('a record cached by one process is dropped once another process commits over it', async (t) => {
    const dir = await tempDir(t)
    const store = openStore(t, dir)
    store.createBucket({ name: 'b', acl: 'private', storageClass: 'Standard', redundancy: 'LRS' })
    store.putObject('b', 'k', await stage(store, 'one'), attrs())
    // Another process (nothing in this one counts its commits) opens the store, waits for a line on
    // stdin, then overwrites the key.
    const module = new URL('../../src/store/embedded/embedded-store.js', import.meta.url).href
    const script = `
      import { Readable } from 'node:stream'
      import { once } from 'node:events'
      const { EmbeddedStore } = await import(${JSON.stringify(module)})
      const s = EmbeddedStore.open(process.argv[1])
      process.stdout.write('open\\n')
      await once(process.stdin, 'data')
      const blob = await s.stageBlob(Readable.from([Buffer.from('second')]), { maxSize: 100 })
      s.putObject('b', 'k', blob, { headers: {}, userMeta: [], acl: 'default', storageClass: 'Standard', tagging: undefined, mirrored: false })
      s.close()
      process.stdout.write('written\\n')
      process.exit(0)`
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, dir], { stdio: ['pipe', 'pipe', 'inherit'] })
    t.after(() => child.kill())
    const lines: string[] = []
    let waiter: (() => void) | undefined
    child.stdout.on('data', (c: Buffer) => {
      lines.push(...c.toString().split('\n').filter((l) => l !== ''))
      waiter?.()
    })
    const line = async (want: string): Promise<void> => {
      while (!lines.includes(want)) await new Promise<void>((r) => (waiter = r))
    }
    await line('open')
    // Cached after the other process opened: twice, in separate synchronous runs.
    assert.equal(store.findObject('b', 'k')?.size, 3)
    await new Promise((r) => setImmediate(r))
    assert.equal(store.findObject('b', 'k')?.size, 3)
    child.stdin.write('go\n')
    await line('written')
    await new Promise((r) => setImmediate(r))
    assert.equal(store.findObject('b', 'k')?.size, 6)
  })

  void test('a connection sees its own commits, and the records it shares cannot be changed by a caller', async (t) => {
    const dir = await tempDir(t)
    const store = openStore(t, dir)
    store.createBucket({ name: 'b', acl: 'private', storageClass: 'Standard', redundancy: 'LRS' })
    store.putObject('b', 'k', await stage(store, 'one'), attrs())
    const first = store.findObject('b', 'k')
    assert.ok(first !== undefined)
    assert.throws(() => {
      ;(first as { acl: string }).acl = 'public-read'
    }, TypeError)
    assert.equal(store.findObject('b', 'k')?.acl, 'default')
    store.putObject('b', 'k', await stage(store, 'three'), attrs())
    assert.equal(store.findObject('b', 'k')?.size, 5)
    store.updateBucket('b', { acl: 'public-read-write' })
    assert.equal(store.findBucket('b')?.acl, 'public-read-write')
  })
})
