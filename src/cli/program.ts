/** The command line: `mirrorstore serve`, `mirrorstore rules …` and their flags (defined once in config/). */
import cluster from 'node:cluster'
import { availableParallelism } from 'node:os'
import { Command, Option } from 'commander'
import { CLIENT_FLAGS, ConfigError, loadClientConfig, loadConfig, SERVE_FLAGS, type RawClientOptions, type RawServeOptions } from '../config/config.js'
import type { OssClient } from './client.js'
import { clientFor, deleteRules, getRules, setRules } from './rules.js'
import type { FailedMessage } from './cluster.js'
import { startServer, type RunningServer } from './serve.js'

const SHUTDOWN_LIMIT_MS = 15_000

/** A worker that could not start has told the primary; it exits once the message is sent. */
class WorkerFailed extends Error {}

function fail(message: string): never {
  // A worker tells the primary, which prints the one line for the whole server.
  if (cluster.isWorker && process.send !== undefined) {
    process.send({ mirrorstore: 'failed', message } satisfies FailedMessage, () => process.exit(2))
    throw new WorkerFailed()
  }
  process.stderr.write(`mirrorstore: ${message}\n`)
  process.exit(2)
}

const CREDENTIALS_HELP =
  '\nEnvironment:\n  MIRRORSTORE_ACCESS_KEY_ID, MIRRORSTORE_ACCESS_KEY_SECRET  root credentials (default: the pair in <data>/credentials.json)\n  MIRRORSTORE_DATA  data directory when --data is not given\n'

/** A client subcommand: the shared client flags, and a client built from them (a ConfigError exits 2). */
function clientCommand(parent: Command, name: string, description: string): Command {
  const cmd = parent.command(name).description(description).addHelpText('after', CREDENTIALS_HELP)
  for (const f of CLIENT_FLAGS) {
    const opt = new Option(f.flag, f.help)
    if (f.default !== undefined) opt.default(f.default)
    cmd.addOption(opt)
  }
  return cmd
}

function clientFrom(opts: RawClientOptions): OssClient {
  try {
    return clientFor(loadClientConfig(opts, process.env, process.cwd()))
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message)
    throw err
  }
}

function addRulesCommands(program: Command): void {
  const rules = program
    .command('rules')
    .description("manage a bucket's mirror rules (its website configuration) on a running server")
  clientCommand(rules, 'set', 'replace the bucket\'s website configuration with FILE (XML sent as is, or JSON: an array of RoutingRule objects)')
    .argument('<bucket>', 'bucket name')
    .argument('<file>', 'rules file: .xml or .json (other names: decided by the first character; - reads stdin)')
    .addHelpText(
      'after',
      '\nJSON form (element names as in the XML; arrays repeat an element):\n  [{"RuleNumber":1,"Condition":{"KeyPrefixEquals":"img/","HttpErrorCodeReturnedEquals":404},\n    "Redirect":{"RedirectType":"Mirror","MirrorURL":"https://old.example.com/"}}]\n',
    )
    .action(async (bucket: string, file: string, opts: RawClientOptions) => {
      await setRules(clientFrom(opts), bucket, file)
      process.stdout.write(`Rules set on bucket "${bucket}"\n`)
    })
  clientCommand(rules, 'get', "print the bucket's website configuration (XML as stored, or --json)")
    .argument('<bucket>', 'bucket name')
    .option('--json', 'print the JSON form (an array of RoutingRule objects), accepted back by rules set')
    .action(async (bucket: string, opts: RawClientOptions & { json?: boolean }) => {
      const text = await getRules(clientFrom(opts), bucket, opts.json === true)
      process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
    })
  clientCommand(rules, 'delete', "remove the bucket's website configuration (and so its mirror rules)")
    .argument('<bucket>', 'bucket name')
    .action(async (bucket: string, opts: RawClientOptions) => {
      await deleteRules(clientFrom(opts), bucket)
      process.stdout.write(`Rules deleted from bucket "${bucket}"\n`)
    })
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
      config = loadConfig(opts, process.env, process.cwd(), availableParallelism())
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
  addRulesCommands(program)
  try {
    await program.parseAsync(argv, { from: 'node' })
  } catch (err) {
    if (!(err instanceof WorkerFailed)) throw err
  }
}
