/** The pino root logger: JSON lines on stdout, secrets redacted. */
import { pino, type Logger } from 'pino'

export type { Logger }

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { pid: process.pid },
    redact: {
      paths: ['authorization', 'headers.authorization', 'secret', 'accessKeySecret', '*.accessKeySecret', 'query.Signature', 'query["x-oss-signature"]'],
      censor: '[redacted]',
    },
  })
}
