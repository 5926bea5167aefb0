/**
 * Request XML → a plain tree, safely: validated first (fast-xml-parser alone is lenient), DOCTYPE and
 * ENTITY declarations refused, no entity expansion beyond the five predefined ones and character
 * references, tag values kept as strings. Any failure is 400 MalformedXML.
 */
import { XMLParser, XMLValidator, type X2jOptions } from 'fast-xml-parser'
import { OssError } from '../oss-error.js'

export type XmlElement = string | XmlObject
export interface XmlObject {
  readonly [name: string]: XmlElement | XmlElement[] | undefined
}

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

function decodeEntities(text: string): string {
  if (!text.includes('&')) return text
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#x')) return safeCodePoint(parseInt(ref.slice(2), 16)) ?? whole
    if (ref.startsWith('#')) return safeCodePoint(parseInt(ref.slice(1), 10)) ?? whole
    return PREDEFINED[ref] ?? whole
  })
}

function safeCodePoint(cp: number): string | undefined {
  return Number.isInteger(cp) && cp >= 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : undefined
}

function decodeTree(node: unknown): XmlElement {
  if (typeof node === 'string') return decodeEntities(node)
  if (node === null || typeof node !== 'object') return ''
  const out: Record<string, XmlElement | XmlElement[]> = {}
  for (const [name, value] of Object.entries(node as Record<string, unknown>)) {
    if (name === '#text') continue
    out[name] = Array.isArray(value) ? value.map(decodeTree) : decodeTree(value)
  }
  return out
}

/**
 * The safe front half of every XML parse: DOCTYPE/ENTITY refused, raw CR kept as a reference,
 * validated, then parsed with entities off and values as strings. Throws MalformedXML.
 */
export function parseXmlSafely(text: string, options: X2jOptions = {}): unknown {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new OssError('MalformedXML')
  // A raw CR would be normalised to LF by the parser; keys may contain CR, so keep it as a reference.
  const body = text.includes('\r') ? text.replace(/\r/g, '&#13;') : text
  // Deprecated in favour of a separate package in fast-xml-parser 5; it still ships and works in the 5.x we pin.
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  if (XMLValidator.validate(body) !== true) throw new OssError('MalformedXML')
  try {
    return new XMLParser({
      processEntities: false,
      parseTagValue: false,
      ignoreAttributes: true,
      ignoreDeclaration: true,
      ignorePiTags: true,
      trimValues: false,
      ...options,
    }).parse(body)
  } catch {
    throw new OssError('MalformedXML')
  }
}

/**
 * Parses `text` and returns the root element named `root` (MalformedXML if the root differs).
 * `repeated` names elements that may repeat, so one or many parse alike (always arrays).
 */
export function parseXml(text: string, root: string, repeated: ReadonlySet<string>): XmlObject {
  const parsed = parseXmlSafely(text, { isArray: (name) => repeated.has(name) })
  const tree = decodeTree(parsed)
  if (typeof tree === 'string') throw new OssError('MalformedXML')
  const top = Object.keys(tree)
  if (top.length !== 1 || top[0] !== root) throw new OssError('MalformedXML')
  const rootEl = tree[root]
  if (rootEl === undefined || Array.isArray(rootEl)) throw new OssError('MalformedXML')
  return typeof rootEl === 'string' ? {} : rootEl
}

/** The text of a single child element, or undefined. An element with children is malformed here. */
export function childText(el: XmlObject, name: string): string | undefined {
  const v = el[name]
  if (v === undefined) return undefined
  if (Array.isArray(v)) throw new OssError('MalformedXML')
  if (typeof v !== 'string') {
    if (Object.keys(v).length === 0) return ''
    throw new OssError('MalformedXML')
  }
  return v
}

/** The child elements with this name (declared repeated), as objects; a text-only child becomes {}. */
export function childElements(el: XmlObject, name: string): XmlObject[] {
  const v = el[name]
  if (v === undefined) return []
  const list = Array.isArray(v) ? v : [v]
  return list.map((item) => (typeof item === 'string' ? {} : item))
}

/** A single child element (container), or undefined. */
export function childElement(el: XmlObject, name: string): XmlObject | undefined {
  const v = el[name]
  if (v === undefined) return undefined
  if (Array.isArray(v)) throw new OssError('MalformedXML')
  return typeof v === 'string' ? {} : v
}
