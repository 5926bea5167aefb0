// Runs every compiled test file explicitly (node:test on Node 20 expands no globs).
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'

function find(dir) {
  const out = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...find(p))
    else if (name.endsWith('.test.js')) out.push(p)
  }
  return out
}
const only = process.argv.slice(2)
const files = only.length > 0 ? only : find('dist/test').sort()
const r = spawnSync(process.execPath, ['--enable-source-maps', '--test', '--test-concurrency=2', '--test-timeout=300000', ...files], { stdio: 'inherit' })
process.exit(r.status ?? 1)
