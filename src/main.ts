#!/usr/bin/env node
// argv → cli/, nothing else.
import { main } from './cli/program.js'

main(process.argv).catch((err: unknown) => {
  process.stderr.write(`mirrorstore: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
