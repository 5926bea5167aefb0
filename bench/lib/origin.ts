/**
 * The bench origin: a small node:http server in the runner's process with fixed objects. The path
 * names the size, `/<bytes>/<name>` (e.g. `/4096/k17`), and the body is a deterministic byte
 * pattern streamed from one shared 1 MiB buffer, so a 1 GiB object costs no memory. It waits
 * `latencyMs` before the headers and counts every fetch, so a workload can report how often each
 * system went to the origin.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

const CHUNK = Buffer.alloc(1024 * 1024)
for (let i = 0; i < CHUNK.length; i++) CHUNK[i] = (i * 31 + 7) & 0xff

export interface BenchOrigin {
  readonly url: string
  /** Delay before the response headers, for every request until changed. */
  latencyMs: number
  /** Fetches since start, all paths. */
  readonly fetches: () => number
  close(): Promise<void>
}

export async function startOrigin(): Promise<BenchOrigin> {
  let fetches = 0
  const state = { latencyMs: 0 }
  const server: Server = createServer((req, res) => {
    fetches++
    const m = /^\/(\d+)\/[A-Za-z0-9._-]+$/.exec(req.url ?? '')
    if (req.method !== 'GET' || m === null) {
      res.writeHead(404, { 'content-length': '0' }).end()
      return
    }
    const size = Number(m[1])
    const send = (): void => {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': String(size),
        // Cacheable for the pull-through cache; the same headers go to every system.
        'cache-control': 'public, max-age=86400',
        'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT',
      })
      let left = size
      const pump = (): void => {
        while (left > 0) {
          const n = Math.min(left, CHUNK.length)
          left -= n
          if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
            res.once('drain', pump)
            return
          }
        }
        res.end()
      }
      pump()
    }
    if (state.latencyMs > 0) setTimeout(send, state.latencyMs)
    else send()
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    get latencyMs() {
      return state.latencyMs
    },
    set latencyMs(ms: number) {
      state.latencyMs = ms
    },
    fetches: () => fetches,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
