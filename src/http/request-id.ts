/** x-oss-request-id: 24 uppercase hex characters, unique per process run (time, random, counter). */
import { randomBytes } from 'node:crypto'

const prefix = randomBytes(4).toString('hex').toUpperCase()
let counter = 0

export function newRequestId(): string {
  counter = (counter + 1) >>> 0
  const t = (Math.floor(Date.now() / 1000) >>> 0).toString(16).toUpperCase().padStart(8, '0')
  return `${t}${prefix}${counter.toString(16).toUpperCase().padStart(8, '0')}`
}
