/**
 * Range for GetObject (oss-api.md §8.5). Default (legacy OSS): any invalid range → the whole object.
 * With `x-oss-range-behavior: standard`: end past the size is clamped, start past it is 416.
 */
import type { ByteRange } from '../store/types.js'

export type RangeDecision =
  | { readonly kind: 'whole' }
  | { readonly kind: 'partial'; readonly range: ByteRange }
  | { readonly kind: 'unsatisfiable' }

export function decideRange(header: string | undefined, size: number, standard: boolean): RangeDecision {
  if (header === undefined) return { kind: 'whole' }
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header)
  if (m === null) return { kind: 'whole' }
  const [, a = '', b = ''] = m
  if (a === '' && b === '') return { kind: 'whole' }
  if (a === '') {
    // Suffix: the last n bytes.
    const n = Number(b)
    if (n === 0) return standard ? { kind: 'unsatisfiable' } : { kind: 'whole' }
    if (size === 0) return standard ? { kind: 'unsatisfiable' } : { kind: 'whole' }
    return { kind: 'partial', range: { start: Math.max(0, size - n), end: size - 1 } }
  }
  const start = Number(a)
  if (start >= size) return standard ? { kind: 'unsatisfiable' } : { kind: 'whole' }
  let end = b === '' ? size - 1 : Number(b)
  if (end < start) return { kind: 'whole' }
  if (end >= size) {
    if (!standard) return { kind: 'whole' }
    end = size - 1
  }
  return { kind: 'partial', range: { start, end } }
}
