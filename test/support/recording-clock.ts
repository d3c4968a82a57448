import type { Clock } from "../../src/lib/clock.js";

/** A clock whose sleeps return at once but are recorded, and which advances by them. */
export function recordingClock(): Clock & { slept: number[] } {
  let now = Date.now();
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}
