/** Retention (WORM) rules as worm.md states them; pure. */
import type { Bucket, WormPolicy } from './types.js'

/** An InProgress policy that is not completed lapses after 24 hours. */
export const WORM_IN_PROGRESS_LIFETIME_MS = 24 * 60 * 60 * 1000
const DAY_MS = 24 * 60 * 60 * 1000

/** The policy in force: undefined when none, or when an InProgress policy has lapsed. */
export function effectiveWorm(bucket: Bucket, now: Date): WormPolicy | undefined {
  const worm = bucket.worm
  if (worm === undefined) return undefined
  if (worm.state === 'InProgress' && now.getTime() >= worm.createdAt.getTime() + WORM_IN_PROGRESS_LIFETIME_MS) return undefined
  return worm
}

/** An object is protected while now < its write time + the current retention period. */
export function isProtected(bucket: Bucket, writtenAt: Date, now: Date): boolean {
  const worm = effectiveWorm(bucket, now)
  if (worm === undefined) return false
  return now.getTime() < writtenAt.getTime() + worm.days * DAY_MS
}
