/** Inputs and outputs of request authentication (signatures.md). Pure data, no HTTP objects. */

/** Lowercase header name → values in arrival order, from `req.rawHeaders`, untrimmed latin1 strings as Node gives them. */
export type HeaderList = ReadonlyMap<string, readonly string[]>

export interface AuthRequest {
  /** Uppercase. */
  readonly method: string
  readonly bucket: string | undefined
  /** Decoded once, raw UTF-8 string. */
  readonly key: string | undefined
  /** The raw query string after '?', undecoded ('' if none). */
  readonly rawQuery: string
  readonly headers: HeaderList
}

export interface CredentialStore {
  /** The secret for an access key id, or undefined for an unknown or disabled key. */
  secretFor(accessKeyId: string): string | undefined
}

export type AuthScheme = 'V1' | 'V4' | 'V1Query' | 'V4Query'

export type AuthResult =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'signed'; readonly accessKeyId: string; readonly scheme: AuthScheme }

export interface VerifyOptions {
  readonly now: Date
  /** The server's region, bare (`cn-hangzhou`) or with the `oss-` prefix. */
  readonly region: string
}
