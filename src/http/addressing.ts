/**
 * Request target → (bucket, key) candidates, per oss-api.md §2. Pure. The key is taken from the
 * raw request target: `.`/`..` segments and `//` are never resolved, and no URL parser touches it.
 */

export interface Target {
  /** Raw path, starting with `/`. */
  readonly rawPath: string
  /** Raw query after `?`, undecoded; '' when none. */
  readonly rawQuery: string
}

export interface Resolution {
  readonly bucket: string | undefined
  /** Decoded once as UTF-8; undefined for service and bucket requests. */
  readonly key: string | undefined
}

export class BadTarget extends Error {
  override readonly name = 'BadTarget'
}

const UTF8 = new TextDecoder('utf-8', { fatal: true })

export function splitTarget(url: string): Target {
  // Node reads the request line as latin1: raw (unescaped) UTF-8 bytes are re-read as UTF-8.
  let target = url
  if (/[^\p{ASCII}]/u.test(target)) {
    try {
      target = UTF8.decode(Buffer.from(target, 'latin1'))
    } catch {
      throw new BadTarget('The request target is not valid UTF-8')
    }
  }
  // An absolute-form target (`http://host/path`) keeps only its path.
  if (!target.startsWith('/')) {
    const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(target)
    target = m === null ? `/${target}` : target.slice(m[0].length) || '/'
  }
  const q = target.indexOf('?')
  const rawPath = q === -1 ? target : target.slice(0, q)
  const rawQuery = q === -1 ? '' : target.slice(q + 1)
  return { rawPath: rawPath.startsWith('/') ? rawPath : `/${rawPath}`, rawQuery }
}

/** Percent-decodes once as UTF-8; `+` stays a plus. Throws BadTarget on a bad escape or invalid UTF-8. */
export function decodePath(raw: string): string {
  if (!raw.includes('%')) return raw
  try {
    return decodeURIComponent(raw)
  } catch {
    throw new BadTarget('Bad percent-encoding in the request path')
  }
}

const ALIYUN_HOST = /^([^.]*)\.oss-[a-z0-9-]+\.aliyuncs\.com$/

function hostName(hostHeader: string | undefined): string {
  if (hostHeader === undefined) return ''
  let h = hostHeader.trim().toLowerCase()
  if (h.startsWith('[')) {
    const end = h.indexOf(']')
    return end === -1 ? h : h.slice(0, end + 1)
  }
  const colon = h.lastIndexOf(':')
  if (colon !== -1) h = h.slice(0, colon)
  return h.replace(/\.$/, '')
}

function pathStyle(rawPath: string): Resolution {
  const rest = rawPath.slice(1)
  if (rest === '') return { bucket: undefined, key: undefined }
  const slash = rest.indexOf('/')
  if (slash === -1) return { bucket: decodePath(rest), key: undefined }
  const bucket = decodePath(rest.slice(0, slash))
  const keyRaw = rest.slice(slash + 1)
  return { bucket, key: keyRaw === '' ? undefined : decodePath(keyRaw) }
}

function virtualHosted(bucket: string, rawPath: string): Resolution {
  const keyRaw = rawPath.slice(1)
  return { bucket, key: keyRaw === '' ? undefined : decodePath(keyRaw) }
}

/**
 * The readings of a request, most likely first. Several readings exist only for ali-oss with an IP
 * endpoint and `sldEnable` (bucket in Host and path): the caller keeps the one whose signature verifies.
 */
export function resolveAddress(hostHeader: string | undefined, rawPath: string, domains: readonly string[]): Resolution[] {
  const host = hostName(hostHeader)
  for (const domain of domains) {
    if (host.length > domain.length + 1 && host.endsWith(`.${domain}`)) {
      const label = host.slice(0, host.length - domain.length - 1)
      if (!label.includes('.')) return [virtualHosted(label, rawPath)]
    }
  }
  const m = ALIYUN_HOST.exec(host)
  if (m !== null) {
    const label = m[1] ?? ''
    if (label === '') return [pathStyle(rawPath)]
    const readings = [virtualHosted(label, rawPath)]
    if (rawPath === `/${label}` || rawPath.startsWith(`/${label}/`)) {
      readings.push(pathStyle(rawPath))
    }
    return readings
  }
  return [pathStyle(rawPath)]
}
