/**
 * If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since (oss-api.md §8.4), compared at
 * whole seconds, ETags without quotes. RFC 7232 precedence.
 */

export type ConditionResult = { readonly kind: 'pass' } | { readonly kind: 'not-modified' } | { readonly kind: 'failed'; readonly condition: string }

export interface ConditionHeaders {
  readonly ifMatch: string | undefined
  readonly ifNoneMatch: string | undefined
  readonly ifModifiedSince: string | undefined
  readonly ifUnmodifiedSince: string | undefined
}

function etagList(value: string): string[] {
  return value.split(',').map((v) => v.trim().replace(/^W\//, '').replace(/^"|"$/g, '').toUpperCase())
}

function matches(value: string, etag: string): boolean {
  const list = etagList(value)
  return list.includes('*') || list.includes(etag.toUpperCase())
}

function seconds(value: string): number | undefined {
  const t = Date.parse(value)
  return Number.isNaN(t) ? undefined : Math.floor(t / 1000)
}

export function evaluateConditions(h: ConditionHeaders, etag: string, lastModified: Date, names = { ifMatch: 'If-Match', ifUnmodifiedSince: 'If-Unmodified-Since' }): ConditionResult {
  const modified = Math.floor(lastModified.getTime() / 1000)
  if (h.ifMatch !== undefined) {
    if (!matches(h.ifMatch, etag)) return { kind: 'failed', condition: names.ifMatch }
  } else if (h.ifUnmodifiedSince !== undefined) {
    const since = seconds(h.ifUnmodifiedSince)
    if (since !== undefined && modified > since) return { kind: 'failed', condition: names.ifUnmodifiedSince }
  }
  if (h.ifNoneMatch !== undefined) {
    if (matches(h.ifNoneMatch, etag)) return { kind: 'not-modified' }
  } else if (h.ifModifiedSince !== undefined) {
    const since = seconds(h.ifModifiedSince)
    if (since !== undefined && modified <= since) return { kind: 'not-modified' }
  }
  return { kind: 'pass' }
}
