import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** What tempDir needs of a test: node:test's TestContext, or anything with after(). */
export interface Hooks {
  after(fn: () => Promise<void> | void): void
}

/** A fresh directory under the OS temp dir, removed when the test ends. */
export async function tempDir(t: Hooks, prefix = 'mirrorstore-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}
