/** ali-oss clients pointed at a test server in each addressing style and signature version. */
import { Agent } from 'node:http'
import OSS from 'ali-oss'
import { ACCESS_KEY_ID, ACCESS_KEY_SECRET, type TestServer } from './server.js'

export type Style = 'ip' | 'sld' | 'vhost'

/** Resolves every host name to 127.0.0.1, so `bucket.localhost` reaches the test server. */
const loopbackAgent = new Agent({
  keepAlive: false,
  lookup: ((_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) => {
    if (opts.all === true) cb(null, [{ address: '127.0.0.1', family: 4 }])
    else cb(null, '127.0.0.1', 4)
  }) as never,
})

export function ossClient(server: TestServer, options: { bucket?: string; style?: Style; v4?: boolean; secret?: string; accessKeyId?: string } = {}): OSS {
  const style = options.style ?? 'ip'
  const port = server.port
  const endpoint = style === 'vhost' ? `http://localhost:${port}` : `http://127.0.0.1:${port}`
  return new OSS({
    endpoint,
    region: 'oss-cn-hangzhou',
    accessKeyId: options.accessKeyId ?? ACCESS_KEY_ID,
    accessKeySecret: options.secret ?? ACCESS_KEY_SECRET,
    ...(options.bucket !== undefined ? { bucket: options.bucket } : {}),
    sldEnable: style === 'sld',
    authorizationV4: options.v4 === true,
    agent: loopbackAgent,
    timeout: 60_000,
    retryMax: 0,
  } as never)
}
