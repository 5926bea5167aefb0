/** Checks an embedded store's data dir against its meta.db (opened read-only). */
import assert from 'node:assert/strict'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import Database from 'better-sqlite3'

/**
 * Every blob refcount equals the rows referring to it, the files under blobs/ are exactly the blob
 * rows (at their sizes), and tmp/ is empty. Call it when no write is in flight.
 */
export async function assertStoreInvariants(dir: string): Promise<void> {
  assert.deepEqual(await readdir(join(dir, 'tmp')), [], 'tmp/ is empty')
  const db = new Database(join(dir, 'meta.db'), { readonly: true, fileMustExist: true })
  try {
    const rows = db.prepare('SELECT id, size, refs FROM blobs').all() as Array<{ id: string; size: number; refs: number }>
    const counted = db
      .prepare(
        `SELECT blob, count(*) AS n FROM (
           SELECT blob FROM objects WHERE blob IS NOT NULL
           UNION ALL SELECT blob FROM segments
           UNION ALL SELECT blob FROM parts) GROUP BY blob`,
      )
      .all() as Array<{ blob: string; n: number }>
    assert.deepEqual(new Map(rows.map((r) => [r.id, r.refs])), new Map(counted.map((c) => [c.blob, c.n])), 'blob refcounts match references')
    const files = new Map<string, number>()
    for (const sub of await readdir(join(dir, 'blobs'))) {
      for (const name of await readdir(join(dir, 'blobs', sub))) files.set(name, (await stat(join(dir, 'blobs', sub, name))).size)
    }
    assert.deepEqual(files, new Map(rows.map((r) => [r.id, r.size])), 'files under blobs/ are exactly the blob rows, at their sizes')
  } finally {
    db.close()
  }
}
