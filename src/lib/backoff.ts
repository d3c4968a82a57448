/**
 * Exponential backoff with full jitter: the n-th retry waits a random time in
 * [base·2ⁿ / 2, base·2ⁿ], capped. Randomness is injected so tests are deterministic.
 */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
