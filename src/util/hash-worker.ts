/**
 * Worker thread of threaded-hasher.ts: MD5 and CRC-64 of many bodies, each by id. Bytes arrive in
 * slots of a SharedArrayBuffer that the main thread reuses once a slot is acknowledged, so hashing
 * a large body allocates nothing per chunk on either side.
 */
import { createHash, type Hash } from 'node:crypto'
import { parentPort } from 'node:worker_threads'
import { Crc64 } from './crc64.js'

export type HashRequest =
  | { readonly op: 'init'; readonly shared: SharedArrayBuffer; readonly slotSize: number }
  | { readonly op: 'update'; readonly id: number; readonly slot: number; readonly length: number }
  | { readonly op: 'digest'; readonly id: number }
  | { readonly op: 'drop'; readonly id: number }

export type HashReply =
  | { readonly op: 'ack'; readonly id: number; readonly slot: number }
  | { readonly op: 'digest'; readonly id: number; readonly md5: ArrayBuffer; readonly crc64: string }

const states = new Map<number, { md5: Hash; crc: Crc64 }>()
let shared: Uint8Array = new Uint8Array(0)
let slotSize = 0
const port = parentPort
if (port !== null) {
  port.on('message', (m: HashRequest) => {
    switch (m.op) {
      case 'init':
        shared = new Uint8Array(m.shared)
        slotSize = m.slotSize
        return
      case 'update': {
        let s = states.get(m.id)
        if (s === undefined) {
          s = { md5: createHash('md5'), crc: new Crc64() }
          states.set(m.id, s)
        }
        const bytes = shared.subarray(m.slot * slotSize, m.slot * slotSize + m.length)
        s.md5.update(bytes)
        s.crc.update(bytes)
        port.postMessage({ op: 'ack', id: m.id, slot: m.slot } satisfies HashReply)
        return
      }
      case 'digest': {
        const s = states.get(m.id) ?? { md5: createHash('md5'), crc: new Crc64() }
        states.delete(m.id)
        const md5 = s.md5.digest()
        const out = md5.buffer.slice(md5.byteOffset, md5.byteOffset + md5.length)
        port.postMessage({ op: 'digest', id: m.id, md5: out, crc64: s.crc.digest().toString() } satisfies HashReply, [out])
        return
      }
      case 'drop':
        states.delete(m.id)
        return
    }
  })
}
