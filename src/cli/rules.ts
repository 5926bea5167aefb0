/**
 * `mirrorstore rules set|get|delete BUCKET`: a bucket's website configuration (its mirror rules) on
 * a running server, through Put/Get/DeleteBucketWebsite. A rules file is XML, sent as is, or the
 * JSON form (api/xml/website-json.ts); the server validates either.
 */
import { readFile } from 'node:fs/promises'
import { extname } from 'node:path'
import { ConfigError, type ClientConfig } from '../config/config.js'
import { websiteJsonToXml, websiteXmlToJson, WebsiteJsonError } from '../api/xml/website-json.js'
import { OssClient } from './client.js'
import { findStoredCredentials } from './credentials.js'

const WEBSITE = { website: '' } as const

/** A client for the configured endpoint, with credentials from the environment or `<data>/credentials.json`. */
export function clientFor(config: ClientConfig): OssClient {
  if (config.accessKeyId !== undefined && config.accessKeySecret !== undefined) {
    return new OssClient(config.endpoint, { accessKeyId: config.accessKeyId, accessKeySecret: config.accessKeySecret })
  }
  const stored = findStoredCredentials(config.data)
  if (stored === undefined) {
    throw new ConfigError(`No credentials: set MIRRORSTORE_ACCESS_KEY_ID and MIRRORSTORE_ACCESS_KEY_SECRET, or pass --data with the server's data directory ("${config.data}" has none)`)
  }
  return new OssClient(config.endpoint, stored)
}

async function readSource(file: string): Promise<string> {
  if (file === '-') {
    const chunks: Buffer[] = []
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks).toString('utf8')
  }
  try {
    return await readFile(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new Error(code === 'ENOENT' ? `Cannot read "${file}": no such file` : `Cannot read "${file}": ${code ?? (err as Error).message}`, { cause: err })
  }
}

/** `.json` is JSON, `.xml` is XML; otherwise (or for stdin) the first character decides. */
function isJson(file: string, text: string): boolean {
  const ext = extname(file).toLowerCase()
  if (ext === '.json') return true
  if (ext === '.xml') return false
  return /^\s*[[{]/.test(text.replace(/^\uFEFF/, ''))
}

/** The body to PUT for a rules file (XML as is, JSON converted). Throws a one-line Error for a bad file. */
export async function rulesDocument(file: string): Promise<Buffer> {
  const text = await readSource(file)
  if (!isJson(file, text)) return Buffer.from(text, 'utf8')
  let value: unknown
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ''))
  } catch (err) {
    throw new Error(`Invalid JSON in "${file}": ${(err as Error).message}`, { cause: err })
  }
  try {
    return Buffer.from(websiteJsonToXml(value), 'utf8')
  } catch (err) {
    if (err instanceof WebsiteJsonError) throw new Error(`Invalid rules in "${file}": ${err.message}`, { cause: err })
    throw err
  }
}

export async function setRules(client: OssClient, bucket: string, file: string): Promise<void> {
  const body = await rulesDocument(file)
  await client.call({ method: 'PUT', bucket, subresources: WEBSITE, body, contentType: 'application/xml' })
}

/** The bucket's configuration as the server returns it (XML), or in the JSON form. */
export async function getRules(client: OssClient, bucket: string, json: boolean): Promise<string> {
  const xml = (await client.call({ method: 'GET', bucket, subresources: WEBSITE })).body.toString('utf8')
  return json ? JSON.stringify(websiteXmlToJson(xml), null, 2) : xml
}

export async function deleteRules(client: OssClient, bucket: string): Promise<void> {
  await client.call({ method: 'DELETE', bucket, subresources: WEBSITE })
}
