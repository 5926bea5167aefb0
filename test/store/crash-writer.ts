/**
 * Child process for the crash test: writes objects in a loop (put, append, multipart, copy, delete)
 * on the data dir given as argv[2] until it is killed, printing a line after each commit.
 */
import { Readable } from 'node:stream'
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js'
import type { ObjectAttributes } from '../../src/store/types.js'

const attrs: ObjectAttributes = { headers: {}, userMeta: [], acl: 'default', storageClass: 'Standard', tagging: undefined, mirrored: false }

function body(i: number): Readable {
  const size = (i * 7919) % 300_000
  const buf = Buffer.alloc(size, i % 251)
  // Paced in chunks so a kill can land mid-stage.
  const chunks: Buffer[] = []
  for (let o = 0; o < size; o += 65536) chunks.push(buf.subarray(o, o + 65536))
  return Readable.from(chunks)
}

async function main(): Promise<void> {
  const dataDir = process.argv[2]
  if (dataDir === undefined) throw new Error('Usage: crash-writer <dataDir>')
  const store = EmbeddedStore.open(dataDir)
  if (store.findBucket('b') === undefined) store.createBucket({ name: 'b', acl: 'private', storageClass: 'Standard', redundancy: 'LRS' })
  for (let i = 0; ; i++) {
    const key = `k${i % 5}`
    switch (i % 5) {
      case 0:
      case 1:
        store.putObject('b', key, await store.stageBlob(body(i), { maxSize: 1 << 30 }), attrs)
        break
      case 2: {
        const cur = store.findObject('b', 'app')
        const blob = await store.stageBlob(body(i), { maxSize: 1 << 30 })
        store.appendObject('b', 'app', cur?.size ?? 0, blob, attrs, 1 << 30)
        break
      }
      case 3: {
        const up = store.createUpload('b', 'mp', attrs)
        store.putPart(up, 1, await store.stageBlob(body(i), { maxSize: 1 << 30 }))
        store.putPart(up, 2, await store.stageBlob(body(i + 1), { maxSize: 1 << 30 }))
        store.completeUpload(up, { parts: 'all', minPartSize: 0 })
        break
      }
      default: {
        const src = store.findObject('b', 'mp')
        if (src !== undefined) store.copyObject(src, 'b', `copy${i % 3}`, attrs)
        store.deleteObject('b', `k${(i + 1) % 5}`)
      }
    }
    process.stdout.write(`${i}\n`)
  }
}

await main()
