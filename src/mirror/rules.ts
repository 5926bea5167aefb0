/**
 * Mirror rules (mirror-rules.md B1–B4): the compiled RoutingRule model, its validation from a parsed
 * configuration tree, first-match selection, the origin key, and the origin URL, query and headers.
 * Pure: no I/O, no XML (the api layer hands over a neutral element tree), no OSS error codes.
 */
import type { HeaderList } from '../auth/types.js'

/** A configuration element as the api layer parsed it: name, text (leaves) and child elements in document order. */
export interface ConfigElement {
  readonly name: string
  /** Decoded text of a leaf; '' (or ignorable whitespace) for a container. */
  readonly text: string
  readonly children: readonly ConfigElement[]
}

export interface IncludeHeader {
  readonly key: string
  readonly equals?: string
  readonly startsWith?: string
  readonly endsWith?: string
}

export interface MirrorHeaderPolicy {
  readonly passAll: boolean
  readonly pass: readonly string[]
  readonly remove: readonly string[]
  readonly set: ReadonlyArray<readonly [string, string]>
}

export interface MirrorRedirect {
  readonly url: string
  readonly slaveUrl: string | undefined
  readonly switchAllErrors: boolean
  /** Effective: MirrorPassQueryString, else PassQueryString. */
  readonly passQueryString: boolean
  readonly followRedirect: boolean
  readonly checkMd5: boolean
  readonly headers: MirrorHeaderPolicy
  readonly saveOssMeta: boolean
  readonly allowHeadObject: boolean
  /** Only 4xx/5xx entries of TransparentMirrorResponseCodes (B5: others are ignored). */
  readonly transparentCodes: ReadonlySet<number>
  readonly userLastModified: boolean
  readonly replaceKeyWith: string | undefined
  readonly replaceKeyPrefixWith: string | undefined
  readonly enableReplacePrefix: boolean
  readonly passOriginalSlashes: boolean
}

export interface RoutingRule {
  readonly ruleNumber: number
  readonly condition: {
    readonly keyPrefixEquals: string | undefined
    readonly keySuffixEquals: string | undefined
    readonly httpErrorCode: number | undefined
    readonly includeHeaders: readonly IncludeHeader[]
  }
  /** 'Mirror' | 'External' | 'AliCDN' | 'Internal' */
  readonly redirectType: string
  /** Set iff redirectType === 'Mirror'. */
  readonly mirror: MirrorRedirect | undefined
}

export type RulesErrorKind = 'malformed' | 'invalid'

/** A refused configuration: `malformed` → 400 MalformedXML, `invalid` → 400 InvalidArgument. `detail` is for logs only. */
export class RulesError extends Error {
  override readonly name = 'RulesError'
  readonly kind: RulesErrorKind
  readonly detail: string
  constructor(kind: RulesErrorKind, detail: string) {
    super(detail)
    this.kind = kind
    this.detail = detail
  }
}

export const MAX_RULES = 20
const MAX_REPEATS = 10
const MAX_HEADER_BYTES = 1024
export const REDIRECT_TYPES: ReadonlySet<string> = new Set(['Mirror', 'External', 'AliCDN', 'Internal'])

/** Boolean elements directly under Redirect (A2). Validated on every rule; lowercased on the round trip. */
export const REDIRECT_BOOLEANS: ReadonlySet<string> = new Set([
  'PassQueryString',
  'EnableReplacePrefix',
  'MirrorSwitchAllErrors',
  'MirrorPassQueryString',
  'MirrorFollowRedirect',
  'MirrorCheckMd5',
  'MirrorPassOriginalSlashes',
  'MirrorSNI',
  'MirrorAllowHeadObject',
  'MirrorAllowGetImageInfo',
  'MirrorAllowVideoSnapshot',
  'MirrorSaveOssMeta',
  'MirrorUserLastModified',
  'MirrorProxyPass',
  'MirrorUsingRole',
  'MirrorIsExpressTunnel',
])

// ---------------------------------------------------------------------------------------------
// Reading the element tree

/** The single child named `name`, or undefined; a repeated one is malformed. */
export function childOf(el: ConfigElement, name: string): ConfigElement | undefined {
  let found: ConfigElement | undefined
  for (const c of el.children) {
    if (c.name !== name) continue
    if (found !== undefined) throw new RulesError('malformed', `${el.name}/${name} repeated`)
    found = c
  }
  return found
}

export function childrenOf(el: ConfigElement, name: string): ConfigElement[] {
  return el.children.filter((c) => c.name === name)
}

/** The text of the single leaf child `name`; a child with elements inside is malformed. */
export function leafOf(el: ConfigElement, name: string): string | undefined {
  const c = childOf(el, name)
  if (c === undefined) return undefined
  if (c.children.length > 0) throw new RulesError('malformed', `${el.name}/${name} is not text`)
  return c.text
}

/** A container child; text where elements belong is malformed. */
export function containerOf(el: ConfigElement, name: string): ConfigElement | undefined {
  const c = childOf(el, name)
  if (c !== undefined) checkContainer(c)
  return c
}

function checkContainer(el: ConfigElement): void {
  if (el.children.length === 0 && el.text.trim() !== '') throw new RulesError('malformed', `${el.name} holds text`)
}

/** `true`/`false` in any case; anything else is invalid. */
export function parseBoolean(text: string, what: string): boolean {
  const v = text.toLowerCase()
  if (v === 'true') return true
  if (v === 'false') return false
  throw new RulesError('invalid', `${what} is not a boolean`)
}

/** Decimal digits only, as a safe integer. */
export function parseInteger(text: string, what: string): number {
  const n = Number(text)
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(n)) throw new RulesError('invalid', `${what} is not an integer`)
  return n
}

function booleanOf(el: ConfigElement, name: string, def: boolean): boolean {
  const text = leafOf(el, name)
  return text === undefined ? def : parseBoolean(text, name)
}

// ---------------------------------------------------------------------------------------------
// Compiling

/**
 * Validates a RoutingRules container and compiles its rules, sorted by ascending RuleNumber.
 * Throws RulesError for every B2 refusal. Children other than RoutingRule are ignored (kept by the caller).
 */
export function compileRoutingRules(container: ConfigElement): RoutingRule[] {
  checkContainer(container)
  const elements = childrenOf(container, 'RoutingRule')
  if (elements.length > MAX_RULES) throw new RulesError('invalid', `more than ${MAX_RULES} rules`)
  const rules = elements.map(compileRule)
  const seen = new Set<number>()
  for (const r of rules) {
    if (seen.has(r.ruleNumber)) throw new RulesError('invalid', `RuleNumber ${r.ruleNumber} repeated`)
    seen.add(r.ruleNumber)
  }
  return rules.sort((a, b) => a.ruleNumber - b.ruleNumber)
}

/** One RoutingRule element → its compiled form (B2). */
export function compileRule(el: ConfigElement): RoutingRule {
  checkContainer(el)
  const numberText = leafOf(el, 'RuleNumber')
  if (numberText === undefined) throw new RulesError('invalid', 'RuleNumber missing')
  const ruleNumber = parseInteger(numberText, 'RuleNumber')
  if (ruleNumber < 1) throw new RulesError('invalid', 'RuleNumber not positive')
  const cond = containerOf(el, 'Condition')
  if (cond === undefined) throw new RulesError('invalid', 'Condition missing')
  const redirect = containerOf(el, 'Redirect')
  if (redirect === undefined) throw new RulesError('invalid', 'Redirect missing')

  const codeText = leafOf(cond, 'HttpErrorCodeReturnedEquals')
  const condition = {
    keyPrefixEquals: leafOf(cond, 'KeyPrefixEquals'),
    keySuffixEquals: leafOf(cond, 'KeySuffixEquals'),
    httpErrorCode: codeText === undefined ? undefined : parseInteger(codeText, 'HttpErrorCodeReturnedEquals'),
    includeHeaders: compileIncludeHeaders(cond),
  }

  const redirectType = leafOf(redirect, 'RedirectType')
  if (redirectType === undefined || !REDIRECT_TYPES.has(redirectType)) throw new RulesError('invalid', 'RedirectType missing or unknown')
  for (const c of redirect.children) {
    if (REDIRECT_BOOLEANS.has(c.name)) booleanOf(redirect, c.name, false)
  }
  const redirectCode = leafOf(redirect, 'HttpRedirectCode')
  if (redirectCode !== undefined && ![301, 302, 307].includes(parseInteger(redirectCode, 'HttpRedirectCode'))) {
    throw new RulesError('invalid', 'HttpRedirectCode not 301, 302 or 307')
  }
  const asyncStatus = leafOf(redirect, 'MirrorAsyncStatus')
  if (asyncStatus !== undefined) parseInteger(asyncStatus, 'MirrorAsyncStatus')

  const replaceKeyWith = leafOf(redirect, 'ReplaceKeyWith')
  const replaceKeyPrefixWith = leafOf(redirect, 'ReplaceKeyPrefixWith')
  const enableReplacePrefix = booleanOf(redirect, 'EnableReplacePrefix', false)
  // An empty ReplaceKeyWith means "not set" (B3 case 1 needs it non-empty), so it conflicts with nothing.
  if (replaceKeyWith !== undefined && replaceKeyWith !== '' && (replaceKeyPrefixWith !== undefined || enableReplacePrefix)) {
    throw new RulesError('invalid', 'ReplaceKeyWith with ReplaceKeyPrefixWith or EnableReplacePrefix')
  }

  let mirror: MirrorRedirect | undefined
  if (redirectType === 'Mirror') {
    if (condition.httpErrorCode !== undefined && condition.httpErrorCode !== 404) {
      throw new RulesError('invalid', 'HttpErrorCodeReturnedEquals not 404 on a Mirror rule')
    }
    const url = leafOf(redirect, 'MirrorURL')
    if (url === undefined || !isOriginBase(url)) throw new RulesError('invalid', 'MirrorURL missing or invalid')
    const slave = leafOf(redirect, 'MirrorURLSlave')
    // An empty MirrorURLSlave (as some SDKs send) means none.
    if (slave !== undefined && slave !== '' && !isOriginBase(slave)) throw new RulesError('invalid', 'MirrorURLSlave invalid')
    const mirrorPass = leafOf(redirect, 'MirrorPassQueryString')
    const headers = containerOf(redirect, 'MirrorHeaders')
    mirror = {
      url,
      slaveUrl: slave === '' ? undefined : slave,
      switchAllErrors: booleanOf(redirect, 'MirrorSwitchAllErrors', false),
      passQueryString:
        mirrorPass !== undefined ? parseBoolean(mirrorPass, 'MirrorPassQueryString') : booleanOf(redirect, 'PassQueryString', false),
      followRedirect: booleanOf(redirect, 'MirrorFollowRedirect', true),
      checkMd5: booleanOf(redirect, 'MirrorCheckMd5', false),
      headers: headers === undefined ? { passAll: false, pass: [], remove: [], set: [] } : compileHeaderPolicy(headers),
      saveOssMeta: booleanOf(redirect, 'MirrorSaveOssMeta', false),
      allowHeadObject: booleanOf(redirect, 'MirrorAllowHeadObject', false),
      transparentCodes: parseTransparentCodes(leafOf(redirect, 'TransparentMirrorResponseCodes')),
      userLastModified: booleanOf(redirect, 'MirrorUserLastModified', false),
      replaceKeyWith,
      replaceKeyPrefixWith,
      enableReplacePrefix,
      passOriginalSlashes: booleanOf(redirect, 'MirrorPassOriginalSlashes', false),
    }
  }
  return { ruleNumber, condition, redirectType, mirror }
}

function compileIncludeHeaders(cond: ConfigElement): IncludeHeader[] {
  const list = childrenOf(cond, 'IncludeHeader')
  if (list.length > MAX_REPEATS) throw new RulesError('invalid', `more than ${MAX_REPEATS} IncludeHeader`)
  return list.map((h) => {
    checkContainer(h)
    const key = leafOf(h, 'Key')
    if (key === undefined || key === '') throw new RulesError('invalid', 'IncludeHeader without Key')
    const equals = leafOf(h, 'Equals')
    const startsWith = leafOf(h, 'StartsWith')
    const endsWith = leafOf(h, 'EndsWith')
    return {
      key,
      ...(equals !== undefined ? { equals } : {}),
      ...(startsWith !== undefined ? { startsWith } : {}),
      ...(endsWith !== undefined ? { endsWith } : {}),
    }
  })
}

const HEADER_NAME = /^[A-Za-z0-9-]+$/

function checkHeaderName(name: string | undefined, what: string): string {
  if (name === undefined || !HEADER_NAME.test(name) || Buffer.byteLength(name) > MAX_HEADER_BYTES) {
    throw new RulesError('invalid', `${what} is not a valid header name`)
  }
  return name
}

function compileHeaderPolicy(el: ConfigElement): MirrorHeaderPolicy {
  const listOf = (name: string): ConfigElement[] => {
    const list = childrenOf(el, name)
    if (list.length > MAX_REPEATS) throw new RulesError('invalid', `more than ${MAX_REPEATS} MirrorHeaders/${name}`)
    return list
  }
  const names = (name: string): string[] =>
    listOf(name).map((c) => {
      if (c.children.length > 0) throw new RulesError('malformed', `MirrorHeaders/${name} is not text`)
      return checkHeaderName(c.text, `MirrorHeaders/${name}`)
    })
  const set = listOf('Set').map((c): readonly [string, string] => {
    checkContainer(c)
    const key = checkHeaderName(leafOf(c, 'Key'), 'MirrorHeaders/Set/Key')
    const value = leafOf(c, 'Value') ?? ''
    if (/[\r\n]/.test(value) || Buffer.byteLength(value) > MAX_HEADER_BYTES) throw new RulesError('invalid', 'MirrorHeaders/Set/Value invalid')
    return [key, value]
  })
  return { passAll: booleanOf(el, 'PassAll', false), pass: names('Pass'), remove: names('Remove'), set }
}

function parseTransparentCodes(text: string | undefined): ReadonlySet<number> {
  const codes = new Set<number>()
  if (text === undefined || text.trim() === '') return codes
  for (const part of text.split(',')) {
    const n = parseInteger(part.trim(), 'TransparentMirrorResponseCodes')
    if (n >= 400 && n <= 599) codes.add(n)
  }
  return codes
}

/**
 * MirrorURL / MirrorURLSlave (B2): `http(s)://`, a non-empty authority without user-info, ending in
 * `/`, and nothing that a URL parser would read differently once a key is appended (no `?`, `#`,
 * `\`, whitespace or control characters), so appending an encoded key can only extend the path.
 */
export function isOriginBase(url: string): boolean {
  if (!/^https?:\/\/[^/?#@\\]+\/[^?#\\]*$/i.test(url) || !url.endsWith('/')) return false
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f]/.test(url)) return false
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return false
  }
  return parsed.hostname !== '' && parsed.username === '' && parsed.password === ''
}

// ---------------------------------------------------------------------------------------------
// Matching and the origin request

/** A string as Node presents header bytes (latin1), so rule values compare with header values byte-wise. */
function asHeaderBytes(s: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(s) ? s : Buffer.from(s, 'utf8').toString('latin1')
}

function headerMatches(h: IncludeHeader, headers: HeaderList): boolean {
  const values = headers.get(h.key.toLowerCase())
  if (values === undefined) return false
  const eq = h.equals === undefined ? undefined : asHeaderBytes(h.equals)
  const sw = h.startsWith === undefined ? undefined : asHeaderBytes(h.startsWith)
  const ew = h.endsWith === undefined ? undefined : asHeaderBytes(h.endsWith)
  // A header sent several times matches when one of its values satisfies every given test.
  return values.some((v) => (eq === undefined || v === eq) && (sw === undefined || v.startsWith(sw)) && (ew === undefined || v.endsWith(ew)))
}

/** First rule (ascending RuleNumber) whose condition holds for a miss of `key` with these request headers (B1, B3). */
export function matchRule(rules: readonly RoutingRule[], key: string, headers: HeaderList): RoutingRule | undefined {
  for (const rule of rules) {
    const c = rule.condition
    if (c.httpErrorCode !== undefined && c.httpErrorCode !== 404) continue
    if (c.keyPrefixEquals !== undefined && !key.startsWith(c.keyPrefixEquals)) continue
    if (c.keySuffixEquals !== undefined && !key.endsWith(c.keySuffixEquals)) continue
    if (!c.includeHeaders.every((h) => headerMatches(h, headers))) continue
    return rule
  }
  return undefined
}

/** B3 origin key: ReplaceKeyWith (`${key}` substituted), else prefix replacement, else the key itself. */
export function originKey(rule: RoutingRule, key: string): string {
  const m = rule.mirror
  if (m === undefined) return key
  if (m.replaceKeyWith !== undefined && m.replaceKeyWith !== '') return m.replaceKeyWith.replaceAll('${key}', key)
  if (m.enableReplacePrefix || (m.replaceKeyPrefixWith !== undefined && m.replaceKeyPrefixWith !== '')) {
    const prefix = rule.condition.keyPrefixEquals ?? ''
    const rest = key.startsWith(prefix) ? key.slice(prefix.length) : key
    return (m.replaceKeyPrefixWith ?? '') + rest
  }
  return key
}

const UNRESERVED = /^[A-Za-z0-9\-._~/]$/

/** Each UTF-8 byte outside `A–Z a–z 0–9 - . _ ~ /` as %XX (uppercase). */
export function encodeOriginPath(path: string): string {
  if (/^[A-Za-z0-9\-._~/]*$/.test(path)) return path
  let out = ''
  for (const byte of Buffer.from(path, 'utf8')) {
    const ch = String.fromCharCode(byte)
    out += byte < 0x80 && UNRESERVED.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/**
 * B4 URL: MirrorURL + encoded origin key (+ '?' + query when given and non-empty); undefined when
 * the origin key has a `.`/`..` segment (after slash handling): the caller fails with message 1.
 * Never normalised afterwards, so the result always starts with `baseUrl`.
 */
export function originUrl(baseUrl: string, originKey: string, passOriginalSlashes: boolean, rawQuery: string | undefined): string | undefined {
  const path = passOriginalSlashes ? originKey : originKey.replace(/\/{2,}/g, '/').replace(/^\//, '')
  if (path.split('/').some((seg) => seg === '.' || seg === '..')) return undefined
  const query = rawQuery === undefined || rawQuery === '' ? '' : `?${rawQuery}`
  return baseUrl + encodeOriginPath(path) + query
}

const SIGNATURE_PARAMS: ReadonlySet<string> = new Set(
  [
    'OSSAccessKeyId',
    'Expires',
    'Signature',
    'security-token',
    'x-oss-signature-version',
    'x-oss-credential',
    'x-oss-date',
    'x-oss-expires',
    'x-oss-signature',
    'x-oss-additional-headers',
  ].map((s) => s.toLowerCase()),
)

function paramName(piece: string): string {
  const eq = piece.indexOf('=')
  const name = eq < 0 ? piece : piece.slice(0, eq)
  try {
    return decodeURIComponent(name.replace(/\+/g, ' ')).toLowerCase()
  } catch {
    return name.toLowerCase()
  }
}

/**
 * B4 query: the client's raw query minus OSS signature parameters (names compared case-insensitively,
 * after percent-decoding), or undefined when the rule does not pass it. Other parameters keep their
 * raw bytes and order; empty pieces are dropped.
 */
export function originQuery(mirror: MirrorRedirect, rawClientQuery: string): string | undefined {
  if (!mirror.passQueryString) return undefined
  return rawClientQuery
    .split('&')
    .filter((piece) => piece !== '' && !SIGNATURE_PARAMS.has(paramName(piece)))
    .join('&')
}

const RESERVED_NAMES: ReadonlySet<string> = new Set([
  'authorization',
  'authorization2',
  'range',
  'content-length',
  'date',
  'host',
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
])

/** Never taken from the client, Pass or Set (B4). `name` is lowercase. */
export function isReservedHeader(name: string): boolean {
  return (
    RESERVED_NAMES.has(name) ||
    name.startsWith('if-') ||
    name.startsWith('proxy-') ||
    name.startsWith('oss-') ||
    name.startsWith('x-oss-') ||
    name.startsWith('x-drs-')
  )
}

/**
 * B4 headers for the origin request, lowercase names. Always `user-agent` (ours) and
 * `accept-encoding: identity`, which only Pass or Set replace; PassAll forwards the rest of the
 * client's headers except Remove names, Cookie, Accept-Encoding, User-Agent and reserved names; Pass
 * forwards the listed headers the client sent; Set always applies and overrides. Reserved names
 * never appear. Host is not included: the origin request sets it from the URL.
 * Values are byte strings as in HeaderList (latin1); Set values are converted to that form; a
 * header the client sent several times is joined with ', '.
 */
export function originHeaders(mirror: MirrorRedirect, clientHeaders: HeaderList, userAgent: string): Record<string, string> {
  const out: Record<string, string> = { 'user-agent': userAgent, 'accept-encoding': 'identity' }
  const policy = mirror.headers
  if (policy.passAll) {
    const removed = new Set(policy.remove.map((n) => n.toLowerCase()))
    for (const [name, values] of clientHeaders) {
      if (isReservedHeader(name) || removed.has(name)) continue
      if (name === 'cookie' || name === 'accept-encoding' || name === 'user-agent') continue
      out[name] = values.join(', ')
    }
  }
  for (const raw of policy.pass) {
    const name = raw.toLowerCase()
    const values = clientHeaders.get(name)
    if (values !== undefined && !isReservedHeader(name)) out[name] = values.join(', ')
  }
  for (const [raw, value] of policy.set) {
    const name = raw.toLowerCase()
    if (!isReservedHeader(name)) out[name] = asHeaderBytes(value)
  }
  return out
}
