/** The admin listener (--admin-port): GET /metrics (Prometheus text) and GET /health. Kept off the OSS port, where /metrics would name a bucket. */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/** Where the Prometheus text comes from: one registry, or the primary's aggregate over workers. */
export interface MetricsSource {
  readonly contentType: string
  metrics(): Promise<string>
}

export async function startAdmin(host: string, port: number, registry: MetricsSource): Promise<{ server: Server; address: AddressInfo }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('method not allowed\n')
      return
    }
    if (path === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
      return
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
      )
      return
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  return { server, address: server.address() as AddressInfo }
}
