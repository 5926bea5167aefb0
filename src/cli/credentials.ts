/**
 * Root credentials: from the environment, or generated once and kept in `<data>/credentials.json`
 * (mode 0600). The secret is printed only on the run that generates it.
 */
import { randomBytes, randomInt } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { CredentialStore } from '../auth/types.js'
import { ConfigError } from '../config/config.js'

export interface RootCredentials {
  readonly accessKeyId: string
  readonly accessKeySecret: string
  /** The account id shown as Owner. */
  readonly ownerId: string
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

function randomString(n: number): string {
  let s = ''
  for (let i = 0; i < n; i++) s += ALNUM.charAt(randomInt(ALNUM.length))
  return s
}

interface StoredFile {
  accessKeyId?: string
  accessKeySecret?: string
  ownerId?: string
}

export function loadCredentials(
  dataDir: string,
  fromEnv: { accessKeyId: string | undefined; accessKeySecret: string | undefined },
): { credentials: RootCredentials; generated: boolean } {
  const file = join(dataDir, 'credentials.json')
  let stored: StoredFile = {}
  if (existsSync(file)) {
    try {
      stored = JSON.parse(readFileSync(file, 'utf8')) as StoredFile
    } catch {
      throw new ConfigError(`Unreadable credentials file "${file}": remove it to generate new credentials`)
    }
  }
  const ownerId = stored.ownerId ?? String(1_000_000_000_000_000n + BigInt(`0x${randomBytes(6).toString('hex')}`))
  if (fromEnv.accessKeyId !== undefined && fromEnv.accessKeySecret !== undefined) {
    if (stored.ownerId === undefined) writeFileSync(file, JSON.stringify({ ownerId }, null, 2) + '\n', { mode: 0o600 })
    return { credentials: { accessKeyId: fromEnv.accessKeyId, accessKeySecret: fromEnv.accessKeySecret, ownerId }, generated: false }
  }
  if (stored.accessKeyId !== undefined && stored.accessKeySecret !== undefined) {
    return { credentials: { accessKeyId: stored.accessKeyId, accessKeySecret: stored.accessKeySecret, ownerId }, generated: false }
  }
  const credentials = { accessKeyId: `LTAI${randomString(20)}`, accessKeySecret: randomString(30), ownerId }
  writeFileSync(file, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600 })
  return { credentials, generated: true }
}

export function credentialStore(root: RootCredentials): CredentialStore {
  return { secretFor: (id) => (id === root.accessKeyId ? root.accessKeySecret : undefined) }
}

/**
 * The key pair a server generated and kept in `<data>/credentials.json`, for client commands run
 * beside it; undefined when the file is absent or holds no pair (credentials came from the environment).
 */
export function findStoredCredentials(dataDir: string): { accessKeyId: string; accessKeySecret: string } | undefined {
  const file = join(dataDir, 'credentials.json')
  if (!existsSync(file)) return undefined
  let stored: StoredFile
  try {
    stored = JSON.parse(readFileSync(file, 'utf8')) as StoredFile
  } catch {
    throw new ConfigError(`Unreadable credentials file "${file}"`)
  }
  if (typeof stored.accessKeyId !== 'string' || typeof stored.accessKeySecret !== 'string') return undefined
  return { accessKeyId: stored.accessKeyId, accessKeySecret: stored.accessKeySecret }
}
