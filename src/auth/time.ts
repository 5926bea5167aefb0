/** The two date formats of OSS signing: RFC 1123 GMT (V1) and ISO 8601 basic (V4). */

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const RFC1123 = /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat), (\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/
const ISO_BASIC = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/

/** Maximum distance between request time and server time for header auth (signatures.md §4). */
export const MAX_SKEW_MS = 15 * 60 * 1000

function utc(year: number, month: number, day: number, hour: number, minute: number, second: number): Date | undefined {
  if (month < 0 || month > 11 || hour > 23 || minute > 59 || second > 59) return undefined
  const date = new Date(Date.UTC(year, month, day, hour, minute, second))
  // Rejects 31 Feb and the like, which Date.UTC would roll over.
  return date.getUTCDate() === day && date.getUTCMonth() === month ? date : undefined
}

/** `Wed, 28 Dec 2022 10:27:41 GMT`; the weekday must be well-formed but is not cross-checked. */
export function parseRfc1123(s: string): Date | undefined {
  const m = RFC1123.exec(s)
  if (m === null) return undefined
  return utc(Number(m[4]), MONTHS.indexOf(m[3] as string), Number(m[2]), Number(m[5]), Number(m[6]), Number(m[7]))
}

/** `20231216T162057Z`. */
export function parseIsoBasic(s: string): Date | undefined {
  const m = ISO_BASIC.exec(s)
  if (m === null) return undefined
  return utc(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))
}

export function formatRfc1123(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0')
  return `${DAYS[d.getUTCDay()] as string}, ${p(d.getUTCDate())} ${MONTHS[d.getUTCMonth()] as string} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} GMT`
}

export function formatIsoBasic(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')
}
