import assert from 'node:assert/strict'
import { setImmediate as tick } from 'node:timers/promises'
import { test } from 'node:test'
import { PrimaryCoordinator, WorkerCoordinator, type Claim, type CoordinatorMessage } from '../../src/mirror/coordinator.js'

/** A primary and two workers joined by in-process channels that record every write (as IPC would see them). */
function cluster() {
  const primary = new PrimaryCoordinator({ qps: 0, bandwidthBitsPerSecond: 0 })
  const writes: Array<{ from: string; message: CoordinatorMessage }> = []
  const workers = [1, 2].map((id) => {
    const worker: WorkerCoordinator = new WorkerCoordinator({
      send: (m) => {
        writes.push({ from: `worker${String(id)}`, message: m })
        primary.handle(id, structuredClone(m))
      },
    })
    primary.attach(id, {
      send: (m) => {
        writes.push({ from: 'primary', message: m })
        worker.handle(structuredClone(m))
      },
    })
    return worker
  })
  return { workers: workers as [WorkerCoordinator, WorkerCoordinator], writes }
}

void test('claims made in one event-loop turn reach the primary as one write, in order, and each gets its answer', async () => {
  const { workers, writes } = cluster()
  const [w1, w2] = workers
  const claims = [w1.claim('a'), w1.claim('b'), w1.claim('a')]
  const other = w2.claim('a')
  const [a1, b, a2, a3] = (await Promise.all([...claims, other])) as [Claim, Claim, Claim, Claim]
  assert.equal(a1.kind, 'owner')
  assert.equal(b.kind, 'owner')
  // The primary does not know about same-process joins (the engine handles those): w1's second claim of 'a' joins its own fill.
  assert.equal(a2.kind, 'join')
  assert.equal(a3.kind, 'join')
  const fromW1 = writes.filter((w) => w.from === 'worker1')
  assert.equal(fromW1.length, 1)
  const first = fromW1[0]?.message
  assert.ok(first?.mirrorstore === 'batch')
  assert.deepEqual(
    first.messages.map((m) => (m.mirrorstore === 'claim' ? m.id : m.mirrorstore)),
    ['a', 'b', 'a'],
  )
  // The primary answered worker 1's three claims in one write too.
  assert.equal(writes.filter((w) => w.from === 'primary').length, 2)

  const before = writes.length
  w1.settle('a', { kind: 'committed' })
  w1.settle('b', { kind: 'committed' })
  assert.ok(a3.kind === 'join' && a2.kind === 'join')
  assert.deepEqual(await a3.outcome, { kind: 'committed' })
  assert.deepEqual(await a2.outcome, { kind: 'committed' })
  await tick()
  assert.equal(writes.slice(before).filter((w) => w.from === 'worker1').length, 1)
})

void test('a single message is sent as itself, not wrapped in a batch', async () => {
  const { workers, writes } = cluster()
  const claim = await workers[0].claim('x')
  assert.equal(claim.kind, 'owner')
  assert.equal(writes[0]?.message.mirrorstore, 'claim')
  assert.equal(writes[1]?.message.mirrorstore, 'claimed')
})
