/**
 * The systems under test, each started fresh with its store in its own directory under the bench
 * work dir: Mirrorstore (the compiled CLI), nginx proxy_store, nginx proxy_cache + proxy_cache_lock
 * and s3rver. `objectPath` maps an origin path (`/4096/k1`) to the path that system serves it at.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { signV1 } from '../../src/auth/sign.js'
import { fetchLocal, freePort, waitForHttp } from './http.js'
import { startProcess, stopProcess, waitForOutput, type Started } from './procs.js'

export type SystemName = 'mirrorstore' | 'nginx-store' | 'nginx-cache' | 's3rver'

export interface System {
  readonly name: SystemName
  readonly port: number
  /** The server's main pid; its process tree is what CPU and RSS are summed over. */
  readonly pid: number
  objectPath(originPath: string): string
  stop(): Promise<void>
}

export const ACCESS_KEY_ID = 'AKIDBENCH'
export const ACCESS_KEY_SECRET = 'SECRETBENCH0123456789'
export const BUCKET = 'bench'

export interface Paths {
  /** Repository root (holds dist/ and bench/). */
  readonly repo: string
  /** This run's work dir; each system gets a subdirectory. */
  readonly work: string
}

function stopper(p: Started): () => Promise<void> {
  return () => stopProcess(p.child)
}

/** A V1-signed request to Mirrorstore (header signature with x-oss-date). */
export async function signedMirrorstore(
  port: number,
  method: string,
  key: string | undefined,
  options: { subresource?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { 'x-oss-date': new Date().toUTCString(), ...options.headers }
  headers.authorization = signV1({
    method,
    bucket: BUCKET,
    ...(key !== undefined ? { key } : {}),
    subresources: options.subresource !== undefined ? { [options.subresource]: '' } : {},
    headers,
    secret: ACCESS_KEY_SECRET,
    accessKeyId: ACCESS_KEY_ID,
  })
  const path = `/${BUCKET}/${key ?? ''}${options.subresource !== undefined ? `?${options.subresource}` : ''}`
  const r = await fetchLocal(port, path, { method, headers, keepText: true, ...(options.body !== undefined ? { body: options.body } : {}) })
  return { status: r.status, text: r.text }
}

function mirrorRules(originUrl: string): string {
  return `<WebsiteConfiguration><RoutingRules><RoutingRule><RuleNumber>1</RuleNumber><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><RedirectType>Mirror</RedirectType><MirrorURL>${originUrl}/</MirrorURL></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`
}

/**
 * Mirrorstore from dist/src/main.js, QoS off (mirror-rules.md B10), a public-read bucket so GETs
 * are anonymous like nginx's, and a Mirror rule to the origin. `extraArgs` come from BENCH_MIRRORSTORE_ARGS.
 */
export async function startMirrorstore(paths: Paths, originUrl: string | undefined, extraArgs: readonly string[]): Promise<System> {
  const data = join(paths.work, 'mirrorstore')
  mkdirSync(data, { recursive: true })
  const args = [
    '--enable-source-maps',
    join(paths.repo, 'dist/src/main.js'),
    'serve',
    '--port', '0',
    '--data', data,
    '--mirror-qps', '0',
    '--mirror-bandwidth', '0',
    '--mirror-allow-private',
    '--log-level', 'warn',
    ...extraArgs,
  ]
  const p = startProcess(process.execPath, args, {
    env: { ...process.env, MIRRORSTORE_ACCESS_KEY_ID: ACCESS_KEY_ID, MIRRORSTORE_ACCESS_KEY_SECRET: ACCESS_KEY_SECRET },
  })
  const m = await waitForOutput(p, /listening on http:\/\/127\.0\.0\.1:(\d+)/)
  const port = Number(m[1])
  const bucket = await signedMirrorstore(port, 'PUT', undefined, { headers: { 'x-oss-acl': 'public-read' } })
  if (bucket.status !== 200) throw new Error(`Mirrorstore PutBucket answered ${bucket.status}: ${bucket.text}`)
  if (originUrl !== undefined) {
    const site = await signedMirrorstore(port, 'PUT', undefined, { subresource: 'website', body: mirrorRules(originUrl) })
    if (site.status !== 200) throw new Error(`Mirrorstore PutBucketWebsite answered ${site.status}: ${site.text}`)
  }
  return { name: 'mirrorstore', port, pid: p.pid, objectPath: (o) => `/${BUCKET}${o}`, stop: stopper(p) }
}

/** nginx from a template in bench/nginx/, in the foreground with its own prefix, pid and logs. */
export async function startNginx(name: 'nginx-store' | 'nginx-cache', paths: Paths, originUrl: string, workers: string): Promise<System> {
  const work = join(paths.work, name)
  for (const d of ['store', 'cache', 'client-body', 'proxy-temp', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(work, d), { recursive: true })
  const port = await freePort()
  const template = name === 'nginx-store' ? 'proxy-store.conf.template' : 'proxy-cache.conf.template'
  const conf = readFileSync(join(paths.repo, 'bench/nginx', template), 'utf8')
    .replaceAll('@USER@', process.getuid?.() === 0 ? 'user root;' : '')
    .replaceAll('@WORKERS@', workers)
    .replaceAll('@WORK@', work)
    .replaceAll('@ORIGIN@', originUrl.replace(/^http:\/\//, ''))
    .replaceAll('@PORT@', String(port))
  const confPath = join(work, 'nginx.conf')
  writeFileSync(confPath, conf)
  const p = startProcess('nginx', ['-p', work, '-c', confPath, '-e', join(work, 'error.log')])
  try {
    await waitForHttp(port)
  } catch (err) {
    throw new Error(`nginx (${name}) did not start: ${p.output()} ${(err as Error).message}`, { cause: err })
  }
  return { name, port, pid: p.pid, objectPath: (o) => o, stop: stopper(p) }
}

/** s3rver 3 from bench/.deps (installed by bench/install.sh), silent, path-style, unsigned requests. */
export async function startS3rver(paths: Paths): Promise<System> {
  const dir = join(paths.work, 's3rver')
  mkdirSync(dir, { recursive: true })
  const port = await freePort()
  const bin = join(paths.repo, 'bench/.deps/node_modules/s3rver/bin/s3rver.js')
  const p = startProcess(process.execPath, [bin, '-d', dir, '-a', '127.0.0.1', '-p', String(port), '--silent', '--no-vhost-buckets'])
  await waitForHttp(port)
  const bucket = await fetchLocal(port, `/${BUCKET}`, { method: 'PUT', keepText: true })
  if (bucket.status !== 200) throw new Error(`s3rver CreateBucket answered ${bucket.status}: ${bucket.text}`)
  return { name: 's3rver', port, pid: p.pid, objectPath: (o) => `/${BUCKET}${o}`, stop: stopper(p) }
}
