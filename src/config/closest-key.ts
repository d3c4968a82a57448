/**
 * "Did you mean …" for unknown keys: the known key with the smallest edit distance, when it is
 * close enough to be a plausible typo (`tokn` → `token`, `public-addr` → `public_addr`).
 */

/** Levenshtein distance, case-insensitive, with `-` and `_` counted as the same character. */
export function editDistance(a: string, b: string): number {
  const left = a.toLowerCase().replaceAll("-", "_");
  const right = b.toLowerCase().replaceAll("-", "_");
  let previous = Array.from({ length: right.length + 1 }, (_, index) => index);
  for (let i = 1; i <= left.length; i++) {
    const current = [i];
    for (let j = 1; j <= right.length; j++) {
      const substitution = (previous[j - 1] as number) + (left[i - 1] === right[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution);
    }
    previous = current;
  }
  return previous[right.length] as number;
}

/** The closest of `candidates`, or undefined when none is within a third of the key's length. */
export function closestKey(key: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.floor(key.length / 3));
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(key, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= limit ? best : undefined;
}
