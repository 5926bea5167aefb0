import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { cleanEnv, MAIN, TEST_CREDENTIALS_ENV } from '../support/cli-run.js'

void test('serve uses MIRRORSTORE_DATA when --data is absent', { timeout: 30_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mirrorstore-env-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0'], {
    env: cleanEnv({ ...TEST_CREDENTIALS_ENV, MIRRORSTORE_DATA: dir, MIRRORSTORE_LOG_LEVEL: 'silent' }),
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  })
  const out = await new Promise<string>((resolve, reject) => {
    let text = ''
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString()
      if (text.includes('access key id:')) resolve(text)
    })
    child.once('exit', (code) => reject(new Error(`Exited with ${String(code)}: ${text}`)))
  })
  assert.match(out, new RegExp(`^data in ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'))
  // Silent: no pino line among the start-up lines.
  assert.doesNotMatch(out, /^\{/m)
})
