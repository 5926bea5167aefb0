/** The command line: `mirrorstore serve` and its flags (defined once in config/). */
import { Command, Option } from 'commander'
import { ConfigError, loadConfig, SERVE_FLAGS, type RawServeOptions } from '../config/config.js'
import { startServer, type RunningServer } from './serve.js'

const SHUTDOWN_LIMIT_MS = 15_000

function fail(message: string): never {
  process.stderr.write(`mirrorstore: ${message}\n`)
  process.exit(2)
}

export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command('mirrorstore')
    .description('OSS-compatible object storage with mirroring-based back-to-origin')
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? 0 : 2)
    })
    // A usage error is one line (commander's message, e.g. "unknown option '--bogus'"), not the help.
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      outputError: (s, write) => write(`mirrorstore: ${s.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')} (see --help)\n`),
    })

  const serve = program
    .command('serve')
    .description('run the server on embedded storage')
    .addHelpText(
      'after',
      '\nEnvironment:\n  MIRRORSTORE_ACCESS_KEY_ID, MIRRORSTORE_ACCESS_KEY_SECRET  root credentials (default: generated once, kept in the data dir)\n  MIRRORSTORE_DATA  data directory when --data is not given\n  MIRRORSTORE_LOG_LEVEL  log level when --log-level is not given\n',
    )
  for (const f of SERVE_FLAGS) {
    const opt = new Option(f.flag, f.help)
    if (f.default !== undefined && f.default !== false) opt.default(f.default)
    serve.addOption(opt)
  }
  serve.action(async (opts: RawServeOptions) => {
    let config
    try {
      config = loadConfig(opts, process.env, process.cwd())
    } catch (err) {
      if (err instanceof ConfigError) fail(err.message)
      throw err
    }
    // Handlers go in before start-up: startServer prints "listening on" before it returns, and a
    // signal sent on seeing that line must still stop the server gracefully.
    let server: RunningServer | undefined
    let stopping = false
    const close = (running: RunningServer): void => {
      running.close().then(
        () => process.exit(0),
        () => process.exit(1),
      )
    }
    const stop = (signal: string): void => {
      if (stopping) return
      stopping = true
      process.stdout.write(`received ${signal}, shutting down\n`)
      setTimeout(() => process.exit(1), SHUTDOWN_LIMIT_MS).unref()
      // Still starting: closed as soon as startServer returns.
      if (server !== undefined) close(server)
    }
    process.on('SIGTERM', () => stop('SIGTERM'))
    process.on('SIGINT', () => stop('SIGINT'))
    try {
      server = await startServer(config, (line) => process.stdout.write(`${line}\n`))
    } catch (err) {
      if (err instanceof ConfigError) fail(err.message)
      throw err
    }
    if (stopping) close(server)
  })
  await program.parseAsync(argv, { from: 'node' })
}
