/** Assertions on raw responses: an OSS error document, and simple XML element lists. */
import assert from 'node:assert/strict'
import type { RawResponse } from './raw.js'
import { xmlField } from './raw.js'

/**
 * Asserts `res` is the OSS error `code` with `status`: XML body with Code, Message, RequestId and
 * HostId, RequestId equal to the `x-oss-request-id` header (24 uppercase hex).
 */
export function assertOssError(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, `status ${res.status}, body ${res.text}`)
  assertErrorShape(res)
  assert.equal(xmlField(res.text, 'Code'), code, res.text)
}

/** Any OSS error document: the shape every non-2xx, non-HEAD answer must have. */
export function assertErrorShape(res: RawResponse): void {
  const id = res.headers['x-oss-request-id']
  assert.ok(typeof id === 'string' && /^[0-9A-F]{24}$/.test(id), `x-oss-request-id ${String(id)}`)
  assert.match(String(res.headers['content-type']), /^application\/xml/)
  assert.ok(res.text.startsWith('<?xml version="1.0" encoding="UTF-8"?>'), res.text)
  assert.match(res.text, /<Error>[\s\S]*<\/Error>/)
  assert.ok((xmlField(res.text, 'Code') ?? '') !== '', res.text)
  assert.ok((xmlField(res.text, 'Message') ?? '') !== '', res.text)
  assert.equal(xmlField(res.text, 'RequestId'), id)
  assert.notEqual(xmlField(res.text, 'HostId'), undefined, res.text)
}

/** Every text of `<name>` elements, in document order (no nesting of the same name). */
export function xmlFields(xml: string, name: string): string[] {
  const out: string[] = []
  const re = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, 'g')
  for (let m = re.exec(xml); m !== null; m = re.exec(xml)) out.push(m[1] ?? '')
  return out
}

/** Decodes the five predefined XML entities and numeric references, as an XML parser would. */
export function xmlText(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_w, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16))
    if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10))
    return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[ref] ?? ref
  })
}
