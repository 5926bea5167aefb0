/**
 * Inline blobs and process death: a small object acknowledged by PutObject is in meta.db (no file,
 * no fsync) and must survive SIGKILL right after the answer, a graceful restart, and the start-up
 * sweep; a small PutObject killed with half its body sent leaves the old object whole.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { serveCli, type RunningCli } from '../support/cli.js'
import { pacedPut } from '../support/paced.js'
import { signed } from '../support/raw.js'
import { assertStoreInvariants, blobHomes } from '../support/store-invariants.js'

const BUCKET = 'inline-crash'

async function kill(server: RunningCli, signal: NodeJS.Signals): Promise<void> {
  server.proc.child.kill(signal)
  const exit = await server.proc.exited
  if (signal === 'SIGKILL') assert.equal(exit.signal, 'SIGKILL', 'the kill landed before the server ended on its own')
}

async function assertBody(server: RunningCli, key: string, body: Buffer): Promise<void> {
  const r = await signed({ port: server.port }, 'GET', BUCKET, key)
  assert.equal(r.status, 200, `${key}: ${r.text}`)
  assert.ok(r.body.equals(body), `${key}: ${r.body.length} bytes differ from the acknowledged ${body.length}`)
}

void test('small objects acknowledged by PutObject live inline and survive SIGKILL right after the answer, a graceful restart and the start-up sweep', { timeout: 120_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mirrorstore-inline-crash-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  let server = await serveCli(t, dir)
  assert.equal((await signed({ port: server.port }, 'PUT', BUCKET, undefined)).status, 200)
  const acknowledged = new Map<string, Buffer>()
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 5; i++) {
      const key = `k${i}`
      const body = randomBytes(512 + round * 1500 + i)
      const r = await signed({ port: server.port }, 'PUT', BUCKET, key, { body })
      assert.equal(r.status, 200, r.text)
      acknowledged.set(key, body)
    }
    // No pause: the kill lands right after the last answer.
    await kill(server, 'SIGKILL')
    server = await serveCli(t, dir)
    for (const [key, body] of acknowledged) await assertBody(server, key, body)
    assert.deepEqual(await blobHomes(dir), { files: 0, inline: acknowledged.size })
    await assertStoreInvariants(dir)
  }

  // Half a small body sent, then SIGKILL: the old object stays whole, nothing is left behind.
  const paced = pacedPut(server.port, BUCKET, 'k0', 4096)
  await paced.started
  await paced.write(randomBytes(2048))
  await new Promise((r) => setTimeout(r, 20))
  await kill(server, 'SIGKILL')
  server = await serveCli(t, dir)
  await assertBody(server, 'k0', acknowledged.get('k0') as Buffer)
  await assertStoreInvariants(dir)

  await kill(server, 'SIGTERM')
  server = await serveCli(t, dir)
  for (const [key, body] of acknowledged) await assertBody(server, key, body)
  assert.deepEqual(await blobHomes(dir), { files: 0, inline: acknowledged.size })
  await assertStoreInvariants(dir)
})
