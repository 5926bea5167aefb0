/**
 * A small XML writer for OSS response documents: declaration, no namespace, `& < >` escaped, CR as
 * `&#13;` (parsers would turn a raw CR into LF). Values are written exactly as given.
 */

/** Ordered children as [name, value] pairs; a repeated element is simply several pairs. */
export type XmlNode = ReadonlyArray<readonly [string, XmlValue]>
export type XmlValue = string | number | boolean | bigint | XmlNode | undefined

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#13;' }

export function escapeXml(text: string): string {
  return /[&<>\r]/.test(text) ? text.replace(/[&<>\r]/g, (c) => ESCAPES[c] ?? c) : text
}

function writeChildren(out: string[], node: XmlNode): void {
  for (const [name, value] of node) {
    if (value === undefined) continue
    if (Array.isArray(value)) {
      out.push(`<${name}>`)
      writeChildren(out, value as XmlNode)
      out.push(`</${name}>`)
    } else {
      out.push(`<${name}>${escapeXml(String(value))}</${name}>`)
    }
  }
}

/** A whole document with the XML declaration. */
export function buildXml(root: string, children: XmlNode): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>\n', `<${root}>`]
  writeChildren(out, children)
  out.push(`</${root}>`)
  return out.join('')
}

/** A root element holding only text (GetBucketLocation). */
export function buildXmlText(root: string, text: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}>${escapeXml(text)}</${root}>`
}
