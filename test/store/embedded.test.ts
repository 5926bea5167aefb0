import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { describe, test } from 'node:test'
import type { TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js'
import type { ObjectRecord } from '../../src/store/types.js'
import { crc64 } from '../../src/util/crc64.js'
import { assertStoreInvariants } from '../support/store-invariants.js'
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

async function tempDir(t: TestContext): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mirrorstore-embedded-'))
  t.after(() => fs.rm(dir, { recursive: true, force: true }))
  return dir
}

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
  void test('the data dir holds only meta.db, blobs/xx/<id> and tmp/; keys never become paths', async (t) => {
    const dir = await tempDir(t)
    const store = openStore(t, dir)
    store.createBucket({ name: 'b', acl: 'private', storageClass: 'Standard', redundancy: 'LRS' })
    for (const k of [KEY_DOTDOT, KEY_UTF8, KEY_CTRL]) store.putObject('b', k, await stage(store, k), attrs())
    for (const f of await filesUnder(dir)) {
      assert.match(f, /^(meta\.db(-wal|-shm)?|blobs\/[0-9a-f]{2}\/[0-9a-f]{32})$/, f)
    }
    await assertStoreInvariants(dir)
  })

  void test('blob files go once no row references them; shared blobs stay while one reference remains', async (t) => {
    const dir = await tempDir(t)
    const store = openStore(t, dir)
    store.createBucket({ name: 'b', acl: 'private', storageClass: 'Standard', redundancy: 'LRS' })
    const blobCount = async (): Promise<number> => (await filesUnder(dir)).filter((f) => f.startsWith('blobs')).length
    const a = store.putObject('b', 'a', await stage(store, 'one'), attrs())
    store.copyObject(a, 'b', 'copy', attrs())
    store.putObject('b', 'a', await stage(store, 'two'), attrs())
    await store.settled()
    assert.equal(await blobCount(), 2)
    store.deleteObject('b', 'copy')
    await store.settled()
    assert.equal(await blobCount(), 1)
    const up = store.createUpload('b', 'mp', attrs())
    store.putPart(up, 1, await stage(store, 'p1'))
    store.putPart(up, 1, await stage(store, 'p1 again'))
    store.putPart(up, 2, await stage(store, 'p2'))
    store.putPart(up, 3, await stage(store, 'p3'))
    await store.settled()
    assert.equal(await blobCount(), 4)
    const mp = store.completeUpload(up, { parts: [{ partNumber: 1, etag: md5Hex('p1 again') }, { partNumber: 3, etag: md5Hex('p3') }], minPartSize: 0 })
    await store.settled()
    assert.equal(await blobCount(), 3)
    await assertStoreInvariants(dir)
    store.copyObject(mp, 'b', 'mpcopy', attrs())
    store.deleteObjects('b', ['mp', 'a'])
    await store.settled()
    assert.equal(await blobCount(), 2)
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

  void test('sweep removes temp files and unreferenced blobs and keeps committed ones', async (t) => {
    const dir = await tempDir(t)
    let store = EmbeddedStore.open(dir)
    store.createBucket({ name: 'b', acl: 'private', storageClass: 'Standard', redundancy: 'LRS' })
    const kept = store.putObject('b', 'k', await stage(store, 'kept'), attrs())
    await stage(store, 'staged, never committed')
    await fs.writeFile(path.join(dir, 'tmp', 'partial'), 'half a body')
    store.close()
    store = openStore(t, dir)
    const r = await store.sweep()
    assert.equal(r.removedFiles, 2)
    assert.equal(r.removedBytes, 'staged, never committed'.length + 'half a body'.length)
    assert.equal((await readAll(store.openObject(kept))).toString(), 'kept')
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
