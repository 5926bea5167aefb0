/** Small HTTP client helpers for set-up, the herd and the big-object timings (not for load: wrk does that). */
import { execFile } from 'node:child_process'
import { Agent, request } from 'node:http'
import { createServer, type AddressInfo } from 'node:net'

export interface Reply {
  readonly status: number
  readonly bytes: number
  /** The body as text, kept only when asked (small documents). */
  readonly text: string
  /** Milliseconds from sending to the response headers, and to the last byte. */
  readonly ttfbMs: number
  readonly totalMs: number
}

export interface RequestOptions {
  readonly method?: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: Buffer | string
  readonly keepText?: boolean
  readonly agent?: Agent
}

/** One request to 127.0.0.1:port; the body is counted and dropped unless keepText. */
export function fetchLocal(port: number, path: string, options: RequestOptions = {}): Promise<Reply> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : Buffer.from(options.body)
    const headers: Record<string, string> = { ...options.headers }
    if (body !== undefined) headers['content-length'] = String(body.length)
    const req = request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers, agent: options.agent ?? false },
      (res) => {
        const ttfbMs = performance.now() - started
        let bytes = 0
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => {
          bytes += c.length
          if (options.keepText === true) chunks.push(c)
        })
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, bytes, text: Buffer.concat(chunks).toString('utf8'), ttfbMs, totalMs: performance.now() - started })
        })
        res.on('error', reject)
        res.on('aborted', () => reject(new Error(`Response to ${path} aborted after ${bytes} bytes`)))
      },
    )
    req.setTimeout(300_000, () => req.destroy(new Error(`Request to ${path} timed out`)))
    req.on('error', reject)
    req.end(body)
  })
}

/** A port that was free a moment ago, for servers that cannot report the one they picked. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port
      s.close(() => resolve(port))
    })
  })
}

/** Polls until something accepts GET / on the port (any status). */
export async function waitForHttp(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      await fetchLocal(port, '/')
      return
    } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}

export interface HerdResult {
  /** Milliseconds from starting the client to its exit, every transfer done. */
  readonly totalMs: number
  /** Status and body length of each transfer, in order. */
  readonly replies: readonly { status: number; bytes: number }[]
}

/**
 * `n` GETs of one path at once, each on its own connection, by one curl process (`--parallel`,
 * libcurl's event loop in C). Timed from spawn to exit, so curl's own start-up counts against the
 * server. A Node client in the bench process spends ~100 ms of its own CPU receiving 200 MiB (a
 * server answering from memory measured ~480–575 ms through it, ~400 ms through curl).
 */
export function parallelGets(port: number, path: string, n: number): Promise<HerdResult> {
  const args = ['-s', '--parallel', '--parallel-immediate', '--parallel-max', String(n), '--max-time', '120']
  for (let i = 0; i < n; i++) args.push('-o', '/dev/null', '-w', '%{http_code} %{size_download}\\n', `http://127.0.0.1:${String(port)}${path}`)
  return new Promise((resolve, reject) => {
    const started = performance.now()
    execFile('curl', args, { maxBuffer: 1 << 20 }, (err, stdout) => {
      const totalMs = performance.now() - started
      // curl exits non-zero when a transfer failed; the per-transfer lines still say which.
      const replies = stdout
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => {
          const [status, bytes] = l.split(' ')
          return { status: Number(status), bytes: Number(bytes) }
        })
      if (replies.length !== n && err !== null) reject(new Error(`curl: ${err.message}`))
      else resolve({ totalMs, replies })
    })
  })
}
