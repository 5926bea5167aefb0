/**
 * The WebsiteConfiguration document (mirror-rules.md A2, B2): parsed order-preserving, validated,
 * normalised for storage and GetBucketWebsite, and compiled into mirror rules.
 *
 * Round trip: every element, unknown ones included, keeps its name, text and place, except that
 * - the stored document has an XML declaration and no whitespace between elements;
 * - RoutingRule elements are sorted by RuleNumber (other children of RoutingRules keep their slots);
 * - known booleans are lowercased;
 * - on Mirror rules, absent defaults are filled. Redirect children follow the order of OSS's
 *   GetBucketWebsite example: RedirectType, PassQueryString, MirrorURL, MirrorPassQueryString,
 *   MirrorFollowRedirect, MirrorCheckMd5, MirrorHeaders. A filled element goes right after the last
 *   present element that precedes it in that order (RedirectType is always present), so elements the
 *   client sent never move; a filled PassAll is the first child of MirrorHeaders.
 *   MirrorPassQueryString and PassQueryString are filled with the effective value (MirrorPassQueryString,
 *   else PassQueryString, else false), so the stored document compiles to the same rule.
 */
import {
  compileRoutingRules,
  containerOf,
  leafOf,
  parseBoolean,
  parseInteger,
  REDIRECT_BOOLEANS,
  RulesError,
  type ConfigElement,
  type RoutingRule,
} from '../../mirror/rules.js'
import { escapeXml } from './build.js'
import { parseXmlSafely } from './parse.js'

export const WEBSITE_ROOT = 'WebsiteConfiguration'
/** PutBucketWebsite bodies over this are MalformedXML (B2). */
export const WEBSITE_BODY_LIMIT = 64 * 1024

export interface WebsiteDocument {
  /** The normalised document, as stored and returned by GetBucketWebsite. */
  readonly xml: string
  /** Sorted by ascending RuleNumber. */
  readonly rules: readonly RoutingRule[]
}

// ---------------------------------------------------------------------------------------------
// Parsing

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff)
}

/** The five predefined entities and character references; anything else is malformed (no DTD, so no other entity exists). */
function decodeEntities(text: string): string {
  if (!text.includes('&')) return text
  return text.replace(/&([^;&]*);|&/g, (_whole, ref: string | undefined) => {
    if (ref === undefined) throw new RulesError('malformed', 'bare ampersand')
    let cp: number
    if (/^#x[0-9a-fA-F]{1,6}$/.test(ref)) cp = parseInt(ref.slice(2), 16)
    else if (/^#[0-9]{1,7}$/.test(ref)) cp = parseInt(ref.slice(1), 10)
    else {
      const named = PREDEFINED[ref]
      if (named === undefined) throw new RulesError('malformed', 'unknown entity')
      return named
    }
    if (!isXmlChar(cp)) throw new RulesError('malformed', 'invalid character reference')
    return String.fromCodePoint(cp)
  })
}

type OrderedNode = Readonly<Record<string, unknown>>

function textOf(value: unknown): string {
  return typeof value === 'string' ? value : ''
}

/** fast-xml-parser's preserveOrder nodes → ConfigElement. Whitespace between elements is dropped; other text beside elements is malformed. */
function toElement(name: string, nodes: unknown): ConfigElement {
  let text = ''
  const children: ConfigElement[] = []
  for (const node of Array.isArray(nodes) ? (nodes as OrderedNode[]) : []) {
    for (const [key, value] of Object.entries(node)) {
      if (key === ':@') continue
      if (key === '#text') text += decodeEntities(textOf(value))
      else if (key === '#cdata') {
        // CDATA is literal text: no entity decoding.
        for (const inner of Array.isArray(value) ? (value as OrderedNode[]) : []) text += textOf(inner['#text'])
      } else children.push(toElement(key, value))
    }
  }
  if (children.length > 0) {
    if (!/^[ \t\r\n]*$/.test(text)) throw new RulesError('malformed', `${name} mixes text and elements`)
    text = ''
  }
  return { name, text, children }
}

/** Parses a WebsiteConfiguration document safely (the approach of ./parse.ts) into its root element. */
export function parseWebsiteXml(text: string): ConfigElement {
  const parsed = parseXmlSafely(text, { preserveOrder: true, cdataPropName: '#cdata' })
  const top: ConfigElement[] = []
  for (const node of Array.isArray(parsed) ? (parsed as OrderedNode[]) : []) {
    for (const [key, value] of Object.entries(node)) {
      if (key === '#text') {
        if (!/^[ \t\r\n]*$/.test(textOf(value))) throw new RulesError('malformed', 'text outside the root')
      } else if (key !== ':@') top.push(toElement(key, value))
    }
  }
  const root = top[0]
  if (top.length !== 1 || root === undefined || root.name !== WEBSITE_ROOT) throw new RulesError('malformed', 'wrong root')
  if (root.children.length === 0 && root.text.trim() !== '') throw new RulesError('malformed', 'root holds text')
  return root
}

// ---------------------------------------------------------------------------------------------
// Validation and normalisation

function leaf(name: string, text: string): ConfigElement {
  return { name, text, children: [] }
}

function lowercaseLeaf(el: ConfigElement): ConfigElement {
  return { ...el, text: el.text.toLowerCase() }
}

function checkIndexDocument(el: ConfigElement): ConfigElement {
  const subDir = leafOf(el, 'SupportSubDir')
  if (subDir !== undefined) parseBoolean(subDir, 'SupportSubDir')
  const type = leafOf(el, 'Type')
  if (type !== undefined && parseInteger(type, 'IndexDocument/Type') > 2) throw new RulesError('invalid', 'IndexDocument/Type not 0, 1 or 2')
  leafOf(el, 'Suffix')
  return { ...el, children: el.children.map((c) => (c.name === 'SupportSubDir' ? lowercaseLeaf(c) : c)) }
}

function checkErrorDocument(el: ConfigElement): ConfigElement {
  const status = leafOf(el, 'HttpStatus')
  if (status !== undefined && ![200, 404].includes(parseInteger(status, 'ErrorDocument/HttpStatus'))) {
    throw new RulesError('invalid', 'ErrorDocument/HttpStatus not 200 or 404')
  }
  leafOf(el, 'Key')
  return el
}

const REDIRECT_ORDER = ['RedirectType', 'PassQueryString', 'MirrorURL', 'MirrorPassQueryString', 'MirrorFollowRedirect', 'MirrorCheckMd5', 'MirrorHeaders']

/** Inserts each absent element of `fills`, in `order`, right after the last present element that precedes it in `order`. */
function fillInOrder(children: readonly ConfigElement[], order: readonly string[], fills: ReadonlyMap<string, ConfigElement>): ConfigElement[] {
  const out = [...children]
  order.forEach((name, i) => {
    const fill = fills.get(name)
    if (fill === undefined || out.some((c) => c.name === name)) return
    const before = new Set(order.slice(0, i))
    let at = 0
    out.forEach((c, idx) => {
      if (before.has(c.name)) at = idx + 1
    })
    out.splice(at, 0, fill)
  })
  return out
}

function normalizeMirrorHeaders(el: ConfigElement): ConfigElement {
  const children = el.children.map((c) => (c.name === 'PassAll' ? lowercaseLeaf(c) : c))
  if (!children.some((c) => c.name === 'PassAll')) children.unshift(leaf('PassAll', 'false'))
  return { ...el, text: '', children }
}

function normalizeRedirect(el: ConfigElement, rule: RoutingRule): ConfigElement {
  let children = el.children.map((c) => (REDIRECT_BOOLEANS.has(c.name) ? lowercaseLeaf(c) : c))
  if (rule.mirror !== undefined) {
    const pass = String(rule.mirror.passQueryString)
    children = fillInOrder(
      children,
      REDIRECT_ORDER,
      new Map([
        ['PassQueryString', leaf('PassQueryString', pass)],
        ['MirrorPassQueryString', leaf('MirrorPassQueryString', pass)],
        ['MirrorFollowRedirect', leaf('MirrorFollowRedirect', 'true')],
        ['MirrorCheckMd5', leaf('MirrorCheckMd5', 'false')],
        ['MirrorHeaders', { name: 'MirrorHeaders', text: '', children: [] }],
      ]),
    ).map((c) => (c.name === 'MirrorHeaders' ? normalizeMirrorHeaders(c) : c))
  }
  return { ...el, children }
}

function normalizeRoutingRules(el: ConfigElement): { element: ConfigElement; rules: RoutingRule[] } {
  const rules = compileRoutingRules(el)
  const byNumber = new Map<number, RoutingRule>(rules.map((r) => [r.ruleNumber, r]))
  const ruleElements = el.children
    .filter((c) => c.name === 'RoutingRule')
    .map((c) => {
      // Compiled above, so RuleNumber is a valid, unique integer.
      const rule = byNumber.get(Number(leafOf(c, 'RuleNumber')))
      if (rule === undefined) throw new RulesError('invalid', 'RuleNumber missing')
      const normalized = { ...c, children: c.children.map((r) => (r.name === 'Redirect' ? normalizeRedirect(r, rule) : r)) }
      return { ruleNumber: rule.ruleNumber, normalized }
    })
    .sort((a, b) => a.ruleNumber - b.ruleNumber)
  let next = 0
  const children = el.children.map((c) => (c.name === 'RoutingRule' ? (ruleElements[next++]?.normalized ?? c) : c))
  return { element: { ...el, children }, rules }
}

function writeElement(out: string[], el: ConfigElement): void {
  if (el.children.length === 0) {
    out.push(`<${el.name}>${escapeXml(el.text)}</${el.name}>`)
    return
  }
  out.push(`<${el.name}>`)
  for (const c of el.children) writeElement(out, c)
  out.push(`</${el.name}>`)
}

/** Validates a parsed WebsiteConfiguration (B2) and returns its normalised text and compiled rules. Throws RulesError. */
export function normalizeWebsite(root: ConfigElement): WebsiteDocument {
  const index = containerOf(root, 'IndexDocument')
  const error = containerOf(root, 'ErrorDocument')
  const routing = containerOf(root, 'RoutingRules')
  if (index === undefined && error === undefined && routing === undefined) {
    throw new RulesError('malformed', 'no IndexDocument, ErrorDocument or RoutingRules')
  }
  let rules: RoutingRule[] = []
  const children = root.children.map((c) => {
    switch (c.name) {
      case 'IndexDocument':
        return checkIndexDocument(c)
      case 'ErrorDocument':
        return checkErrorDocument(c)
      case 'RoutingRules': {
        const r = normalizeRoutingRules(c)
        rules = r.rules
        return r.element
      }
      default:
        return c
    }
  })
  const out = ['<?xml version="1.0" encoding="UTF-8"?>\n']
  writeElement(out, { ...root, text: '', children })
  return { xml: out.join(''), rules }
}

/** Parse + validate + normalise a PutBucketWebsite body. Throws RulesError. */
export function readWebsite(text: string): WebsiteDocument {
  return normalizeWebsite(parseWebsiteXml(text))
}

// ---------------------------------------------------------------------------------------------
// Compiled rules for the hot path

const CACHE_MAX = 128
const cache = new Map<string, readonly RoutingRule[]>()

function remember(xml: string, rules: readonly RoutingRule[]): void {
  cache.delete(xml)
  cache.set(xml, rules)
  if (cache.size > CACHE_MAX) {
    const oldest = cache.keys().next()
    if (oldest.done !== true) cache.delete(oldest.value)
  }
}

/** Primes the cache with a document just stored, so the first miss after a PUT does not parse. */
export function rememberCompiled(doc: WebsiteDocument): void {
  remember(doc.xml, Object.freeze([...doc.rules]))
}

/**
 * The stored document (`bucket.website`) → its rules by ascending RuleNumber, cached by the string
 * (LRU of 128), so a GET miss does not re-parse. A stored document that no longer compiles throws a
 * plain Error (→ InternalError), not a RulesError.
 */
export function compiledRules(websiteXml: string): readonly RoutingRule[] {
  const hit = cache.get(websiteXml)
  if (hit !== undefined) {
    remember(websiteXml, hit)
    return hit
  }
  let doc: WebsiteDocument
  try {
    doc = readWebsite(websiteXml)
  } catch (err) {
    // Not the client's fault (it was accepted when stored): an internal error, never a 400 on a GET.
    if (err instanceof RulesError) throw new Error(`Stored website configuration no longer compiles: ${err.detail}`, { cause: err })
    throw err
  }
  const rules = Object.freeze([...doc.rules])
  remember(websiteXml, rules)
  return rules
}
