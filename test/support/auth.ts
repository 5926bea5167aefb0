/** Helpers for auth tests: build AuthRequests the way the server will, from raw pieces. */

import { headerListFrom } from '../../src/auth/canonical.js'
import type { AuthRequest, CredentialStore, HeaderList } from '../../src/auth/types.js'

export interface RequestParts {
  readonly method?: string
  readonly bucket?: string
  readonly key?: string
  readonly rawQuery?: string
  readonly headers?: Readonly<Record<string, string>> | HeaderList
}

export function authRequest(parts: RequestParts): AuthRequest {
  const headers = parts.headers instanceof Map ? parts.headers : headerListFrom((parts.headers ?? {}) as Record<string, string>)
  return {
    method: parts.method ?? 'GET',
    bucket: parts.bucket,
    key: parts.key,
    rawQuery: parts.rawQuery ?? '',
    headers,
  }
}

export function credentials(entries: Readonly<Record<string, string>>): CredentialStore {
  const map = new Map(Object.entries(entries))
  return { secretFor: (accessKeyId) => map.get(accessKeyId) }
}

/** Splits a URL the way the server does: raw path and raw query, never through WHATWG resolution. */
export function splitUrl(url: string): { path: string; rawQuery: string } {
  const afterScheme = url.replace(/^[a-z]+:\/\/[^/]*/, '')
  const q = afterScheme.indexOf('?')
  return q < 0 ? { path: afterScheme, rawQuery: '' } : { path: afterScheme.slice(0, q), rawQuery: afterScheme.slice(q + 1) }
}

/** The HeaderList a Node server would build from rawHeaders for headers an SDK sent. */
export function wireHeaders(headers: Readonly<Record<string, unknown>>): HeaderList {
  const map = new Map<string, string[]>()
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || value === null) continue
    const lower = name.toLowerCase()
    const v = typeof value === 'string' ? value : typeof value === 'number' ? String(value) : JSON.stringify(value)
    const existing = map.get(lower)
    if (existing === undefined) map.set(lower, [v])
    else existing.push(v)
  }
  return map
}

export const LOCAL = { accessKeyId: 'AKIDLOCAL', secret: 'SECRETLOCAL' } as const
export const LOCAL_CREDS = credentials({ AKIDLOCAL: 'SECRETLOCAL', ak: 'sk' })
