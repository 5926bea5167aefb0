/** Checks an embedded store's data dir against its meta.db (opened read-only). */
import assert from 'node:assert/strict'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import Database from 'better-sqlite3'

/**
 * Every blob refcount equals the rows referring to it, the files under blobs/ are exactly the blob
 * rows that are not inline (at their sizes), every inline blob's bytes have its size, no bytes lack
 * their blob row, and tmp/ is empty. Call it when no write is in flight.
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
    const inline = new Map((db.prepare('SELECT id, length(data) AS size FROM blob_bytes').all() as Array<{ id: string; size: number }>).map((r) => [r.id, r.size]))
    const files = new Map<string, number>()
    for (const sub of await readdir(join(dir, 'blobs'))) {
      for (const name of await readdir(join(dir, 'blobs', sub))) files.set(name, (await stat(join(dir, 'blobs', sub, name))).size)
    }
    const fileRows = rows.filter((r) => !inline.has(r.id))
    assert.deepEqual(files, new Map(fileRows.map((r) => [r.id, r.size])), 'files under blobs/ are exactly the file blob rows, at their sizes')
    const inlineRows = rows.filter((r) => inline.has(r.id))
    assert.deepEqual(inline, new Map(inlineRows.map((r) => [r.id, r.size])), 'inline bytes belong to blob rows and have their sizes')
  } finally {
    db.close()
  }
}

/** How many blobs a data dir holds in each home: files under blobs/, inline rows in meta.db. */
export async function blobHomes(dir: string): Promise<{ files: number; inline: number }> {
  let files = 0
  for (const sub of await readdir(join(dir, 'blobs'))) files += (await readdir(join(dir, 'blobs', sub))).length
  const db = new Database(join(dir, 'meta.db'), { readonly: true, fileMustExist: true })
  try {
    return { files, inline: (db.prepare('SELECT count(*) AS n FROM blob_bytes').get() as { n: number }).n }
  } finally {
    db.close()
  }
}
