/** Helpers for the mirror API tests: rule XML, a mirror bucket, the 424 contract, listings, metrics. */
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { assertOssError, xmlFields } from './oss-assert.js'
import { signed, xmlField, type RawResponse } from './raw.js'
import { signV1 } from '../../src/auth/sign.js'
import { ACCESS_KEY_ID, ACCESS_KEY_SECRET, type TestServer } from './server.js'

/** The eight MirrorFailed messages, byte for byte (mirror-rules.md B6). */
export const MIRROR_MESSAGE = {
  config_failed: 'Mirroring failed, please check your mirror configuration.',
  read_body_failed: 'Read body from mirror host failed, please check your mirror host.',
  bytes_mismatch: 'Bytes read is not equal to expected.',
  md5_mismatch: 'MD5 in header() is not equal to MD5 calculated.',
  already_exists: 'The object you specified already exists and can not be overwritten.',
  immutable: 'The object you specified is immutable.',
  meta_too_large: 'Meta is too large.',
  qos_rejected: 'Mirror request is rejected by QoS.',
} as const
export type MirrorReason = keyof typeof MIRROR_MESSAGE

export const EC = {
  status: '0041-00000101',
  badRange: '0041-00000103',
  privateAddress: '0041-00000108',
} as const

export interface RuleSpec {
  /** MirrorURL (a trailing `/` is added when missing); needed for Mirror rules. */
  readonly url?: string
  readonly number?: number
  readonly prefix?: string
  readonly suffix?: string
  /** Raw `<IncludeHeader>` elements (or any other Condition children). */
  readonly condition?: string
  /** Raw Redirect children after MirrorURL. */
  readonly redirect?: string
  /** RedirectType (default Mirror). */
  readonly type?: string
}

export function routingRule(spec: RuleSpec): string {
  const url = spec.url === undefined || spec.url.endsWith('/') ? spec.url : `${spec.url}/`
  const cond =
    (spec.prefix !== undefined ? `<KeyPrefixEquals>${spec.prefix}</KeyPrefixEquals>` : '') +
    (spec.suffix !== undefined ? `<KeySuffixEquals>${spec.suffix}</KeySuffixEquals>` : '') +
    '<HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals>' +
    (spec.condition ?? '')
  const type = spec.type ?? 'Mirror'
  const target = url !== undefined ? `<MirrorURL>${url}</MirrorURL>` : ''
  return `<RoutingRule><RuleNumber>${spec.number ?? 1}</RuleNumber><Condition>${cond}</Condition><Redirect><RedirectType>${type}</RedirectType>${target}${spec.redirect ?? ''}</Redirect></RoutingRule>`
}

export function websiteXml(rules: readonly RuleSpec[]): string {
  return `<WebsiteConfiguration><RoutingRules>${rules.map(routingRule).join('')}</RoutingRules></WebsiteConfiguration>`
}

/** Creates `bucket` (with `acl` when given) and sets its mirror rules. */
export async function mirrorBucket(server: Pick<TestServer, 'port'>, bucket: string, rules: readonly RuleSpec[], acl?: 'private' | 'public-read' | 'public-read-write'): Promise<void> {
  const created = await signed(server, 'PUT', bucket, undefined, acl === undefined ? {} : { headers: { 'x-oss-acl': acl } })
  assert.equal(created.status, 200, created.text)
  await setRules(server, bucket, rules)
}

export async function setRules(server: Pick<TestServer, 'port'>, bucket: string, rules: readonly RuleSpec[]): Promise<void> {
  const put = await signed(server, 'PUT', bucket, undefined, { query: 'website', subresources: { website: '' }, body: websiteXml(rules) })
  assert.equal(put.status, 200, put.text)
}

/** Asserts the 424 MirrorFailed contract: XML error with the message, request id, and EC only where given. */
export function assertMirrorFailed(res: RawResponse, reason: MirrorReason, ec?: string): void {
  assertOssError(res, 424, 'MirrorFailed')
  assert.equal(xmlField(res.text, 'Message'), MIRROR_MESSAGE[reason], res.text)
  assert.equal(xmlField(res.text, 'EC'), ec, res.text)
  assert.equal(res.headers['x-oss-ec'], ec)
}

/** Asserts a HEAD answered 424 MirrorFailed with no body and the error document in x-oss-err. */
export function assertHeadMirrorFailed(res: RawResponse, reason: MirrorReason, ec?: string): void {
  assert.equal(res.status, 424)
  assert.equal(res.body.length, 0)
  const err = res.headers['x-oss-err']
  assert.equal(typeof err, 'string', 'x-oss-err missing')
  const xml = Buffer.from(err as string, 'base64').toString('utf8')
  assert.equal(xmlField(xml, 'Code'), 'MirrorFailed', xml)
  assert.equal(xmlField(xml, 'Message'), MIRROR_MESSAGE[reason], xml)
  assert.equal(xmlField(xml, 'RequestId'), res.headers['x-oss-request-id'])
  assert.equal(res.headers['x-oss-ec'], ec)
}

/** Keys listed in `bucket` (ListObjects, up to 1,000). */
export async function listKeys(server: TestServer, bucket: string): Promise<string[]> {
  const res = await signed(server, 'GET', bucket, undefined)
  assert.equal(res.status, 200, res.text)
  return xmlFields(res.text, 'Key')
}

/** Asserts `key` is absent: HEAD 404 (for rules without MirrorAllowHeadObject) and not listed. */
export async function assertNotStored(server: TestServer, bucket: string, key: string): Promise<void> {
  const head = await signed(server, 'HEAD', bucket, key)
  assert.equal(head.status, 404, `HEAD ${key}: ${head.status}`)
  assert.ok(!(await listKeys(server, bucket)).includes(key), `${key} is listed`)
}

/** GET on the admin listener. */
export function admin(server: TestServer, path: string): Promise<{ status: number; text: string; contentType: string | undefined }> {
  const port = server.adminPort
  assert.ok(port !== undefined, 'server started without adminPort')
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), contentType: res.headers['content-type'] }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

/** The value of one sample in Prometheus text, e.g. `metric(text, 'x_total', { outcome: 'filled' })`; 0 when absent. */
export function metric(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  const want = Object.entries(labels)
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line)
    if (m === null || m[1] !== name) continue
    const have = new Map<string, string>()
    for (const part of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) have.set(part[1] ?? '', part[2] ?? '')
    if (want.every(([k, v]) => have.get(k) === v) && have.size === want.length) return Number(m[3])
  }
  return 0
}

/** Outcome counters from /metrics. */
export async function outcomes(server: TestServer): Promise<(outcome: string) => number> {
  const { text } = await admin(server, '/metrics')
  return (outcome) => metric(text, 'mirrorstore_mirror_outcomes_total', { outcome })
}

/** Polls `check` until it returns true or `ms` pass (a deadline, not a timing assertion). */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Headers of a V1-signed GET of bucket/key, for tests that read the response with node:http themselves. */
export function signedGetHeaders(bucket: string, key: string): Record<string, string> {
  const headers: Record<string, string> = { 'x-oss-date': new Date().toUTCString() }
  headers.authorization = signV1({ method: 'GET', bucket, key, subresources: {}, headers, secret: ACCESS_KEY_SECRET, accessKeyId: ACCESS_KEY_ID })
  return headers
}
