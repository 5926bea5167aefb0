/**
 * The JSON form of a WebsiteConfiguration, for `mirrorstore rules`: an array of RoutingRule objects
 * (or an object of WebsiteConfiguration children, RoutingRules an array of rules) using the XML's
 * element names. An array value becomes repeated elements, numbers and booleans become their text,
 * objects become containers; key order is element order. The server validates the result exactly as
 * it would any PutBucketWebsite body; this module only checks that the JSON can be written as XML.
 */
import { REDIRECT_BOOLEANS, type ConfigElement } from '../../mirror/rules.js'
import { buildXml, type XmlNode, type XmlValue } from './build.js'
import { parseWebsiteXml, WEBSITE_ROOT } from './website.js'

/** The JSON cannot be written as a WebsiteConfiguration; the message names the place. */
export class WebsiteJsonError extends Error {
  override readonly name = 'WebsiteJsonError'
}

// An XML name restricted to what OSS documents use; anything else would make a broken document.
const ELEMENT_NAME = /^[A-Za-z_][A-Za-z0-9._-]*$/

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function elementsOf(name: string, value: unknown, path: string): (readonly [string, XmlValue])[] {
  if (!ELEMENT_NAME.test(name)) throw new WebsiteJsonError(`"${name}" at ${path} is not an element name`)
  if (Array.isArray(value)) {
    return value.flatMap((item: unknown, i) => {
      if (Array.isArray(item)) throw new WebsiteJsonError(`${path}[${i}] is an array inside an array`)
      return elementsOf(name, item, `${path}[${i}]`)
    })
  }
  if (typeof value === 'string') return [[name, value]]
  if (typeof value === 'number' || typeof value === 'boolean') return [[name, String(value)]]
  if (isObject(value)) return [[name, childrenOf(value, path)]]
  throw new WebsiteJsonError(`${path} is null`)
}

function childrenOf(value: Record<string, unknown>, path: string): XmlNode {
  return Object.entries(value).flatMap(([k, v]) => elementsOf(k, v, `${path}.${k}`))
}

function routingRules(rules: readonly unknown[], path: string): XmlNode {
  return rules.flatMap((rule, i) => {
    if (!isObject(rule)) throw new WebsiteJsonError(`${path}[${i}] is not a RoutingRule object`)
    return elementsOf('RoutingRule', rule, `${path}[${i}]`)
  })
}

/** The JSON form (already parsed) → a WebsiteConfiguration document. Throws WebsiteJsonError. */
export function websiteJsonToXml(value: unknown): string {
  if (Array.isArray(value)) return buildXml(WEBSITE_ROOT, [['RoutingRules', routingRules(value, 'rules')]])
  if (isObject(value)) {
    const keys = Object.keys(value)
    const inner = keys.length === 1 && keys[0] === WEBSITE_ROOT ? value[WEBSITE_ROOT] : value
    if (!isObject(inner)) throw new WebsiteJsonError(`${WEBSITE_ROOT} is not an object`)
    const children = Object.entries(inner).flatMap(([k, v]): (readonly [string, XmlValue])[] =>
      k === 'RoutingRules' && Array.isArray(v) ? [['RoutingRules', routingRules(v, 'RoutingRules')]] : elementsOf(k, v, k),
    )
    return buildXml(WEBSITE_ROOT, children)
  }
  throw new WebsiteJsonError('expected an array of RoutingRule objects or an object with RoutingRules')
}

// ---------------------------------------------------------------------------------------------
// Back to JSON (`rules get --json`), so the output can be fed to `rules set` again.

const BOOLEANS: ReadonlySet<string> = new Set([...REDIRECT_BOOLEANS, 'PassAll', 'SupportSubDir'])
const INTEGERS: ReadonlySet<string> = new Set([
  'RuleNumber',
  'HttpErrorCodeReturnedEquals',
  'HttpStatus',
  'Type',
  'HttpRedirectCode',
  'MirrorAsyncStatus',
  'MirrorMultiAlternateNumber',
])
/** Elements that may repeat: always arrays, so one or many read alike. */
const REPEATED: ReadonlySet<string> = new Set(['RoutingRule', 'IncludeHeader', 'Pass', 'Remove', 'Set', 'MirrorMultiAlternate'])

type Json = string | number | boolean | Json[] | { [name: string]: Json }

function leafValue(name: string, text: string): Json {
  if (BOOLEANS.has(name) && /^(true|false)$/i.test(text)) return text.toLowerCase() === 'true'
  if (INTEGERS.has(name) && /^(0|[1-9][0-9]{0,14})$/.test(text)) return Number(text)
  return text
}

function toJson(el: ConfigElement): Json {
  if (el.children.length === 0) return leafValue(el.name, el.text)
  const groups = new Map<string, Json[]>()
  for (const c of el.children) {
    const list = groups.get(c.name) ?? []
    list.push(toJson(c))
    groups.set(c.name, list)
  }
  const out: Record<string, Json> = {}
  for (const [name, list] of groups) out[name] = list.length === 1 && !REPEATED.has(name) ? (list[0] as Json) : list
  return out
}

function rulesArray(routing: ConfigElement): Json[] | undefined {
  if (!routing.children.every((c) => c.name === 'RoutingRule')) return undefined
  return routing.children.map(toJson)
}

/**
 * A WebsiteConfiguration document → its JSON form: the array of rules when the document holds only
 * RoutingRules, else an object of its children (RoutingRules as an array of rules). Repeated
 * elements become arrays (grouped by name), known booleans and integers become JSON values.
 */
export function websiteXmlToJson(xml: string): Json {
  const root = parseWebsiteXml(xml)
  const only = root.children.length === 1 ? root.children[0] : undefined
  if (only?.name === 'RoutingRules') {
    const rules = rulesArray(only)
    if (rules !== undefined) return rules
  }
  const out: Record<string, Json> = {}
  for (const c of root.children) {
    const rules = c.name === 'RoutingRules' ? rulesArray(c) : undefined
    out[c.name] = rules ?? toJson(c)
  }
  return out
}
