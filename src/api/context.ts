/** What every handler gets: the request, its identity and the services, wired once by cli/. */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import type { AuthResult, CredentialStore, HeaderList } from '../auth/types.js'
import type { Metrics } from '../metrics/metrics.js'
import type { MirrorEngine } from '../mirror/engine.js'
import type { ObjectRecord, ObjectStore } from '../store/types.js'
import type { Query } from './router.js'

export interface ServerSettings {
  /** Bare region id, e.g. `cn-hangzhou`. */
  readonly region: string
  /** The account id shown as Owner ID and DisplayName. */
  readonly ownerId: string
  readonly domains: readonly string[]
}

export interface Services {
  readonly store: ObjectStore
  readonly mirror: MirrorEngine
  readonly metrics: Metrics
  /** The root logger (requests log through their own child, ctx.log). */
  readonly log: Logger
  readonly credentials: CredentialStore
  readonly settings: ServerSettings
  readonly now: () => Date
}

export interface RequestContext {
  /** The x-oss-request-id. */
  readonly id: string
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly log: Logger
  /** Aborts when the client goes away. */
  readonly signal: AbortSignal
  readonly services: Services
  readonly method: string
  /** The Host header as sent (HostId in errors). */
  readonly host: string
  readonly rawPath: string
  readonly rawQuery: string
  readonly query: Query
  /** The target was not valid UTF-8 or had a bad escape: answered with an error before anything else. */
  readonly badTarget: 'path' | 'query' | undefined
  /** Lowercase name → values in arrival order, from rawHeaders. */
  readonly headers: HeaderList
  bucket: string | undefined
  key: string | undefined
  auth: AuthResult
  /** The object row authorisation already looked up (anonymous object requests), reused once by the handler. */
  prefetched: { readonly object: ObjectRecord | undefined } | undefined
  /** Filled for the closing log line. */
  outcome: { code?: string; bytes?: number }
}

/** The first value of a header, or undefined. */
export function header(ctx: Pick<RequestContext, 'headers'>, name: string): string | undefined {
  return ctx.headers.get(name)?.[0]
}
