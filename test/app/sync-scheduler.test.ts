import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import { KeyedWork } from "../../src/app/keyed-work.js";
import type { RequestSync } from "../../src/app/request-sync.js";
import { SyncScheduler } from "../../src/app/sync-scheduler.js";
import type { RequestView } from "../../src/core/plan.js";
import { AppError } from "../../src/errors.js";
import { systemClock } from "../../src/lib/clock.js";

/** Requests that fail on one recipient (`scope`) until it is opened. */
function setup() {
  const state = { open: false, calls: 0 };
  const sync = {
    sync: async (): Promise<{ recheckAt?: number }> => {
      state.calls++;
      if (state.open) return {};
      throw new AppError("MATTERMOST", "Cannot post to acme/x: 403", {
        details: { status: 403, scope: "channel:x", logged: true },
      });
    },
  } as unknown as RequestSync;
  let scheduler: SyncScheduler | undefined;
  const done = new Set<string>();
  const work = new KeyedWork<RequestView>(
    4,
    async (id, view) => {
      await scheduler!.run(id, view);
      if (state.open) done.add(id);
    },
    () => {},
  );
  // No jitter: each probe waits half its ceiling (0.5 s, 1 s, 2 s …).
  scheduler = new SyncScheduler({
    sync,
    work,
    clock: systemClock,
    logger: pino({ level: "silent" }),
    random: () => 0,
  });
  return { state, work, scheduler, done };
}

const view = (id: string): RequestView => ({ kind: "gone", id });

async function until(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail("timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("requests waiting on one failing recipient share one probe, and all go once it gets through", async (t) => {
  const { state, work, scheduler, done } = setup();
  t.after(() => scheduler.stop());
  for (const id of ["a", "b", "c", "d", "e"]) work.push(id, view(id));
  await work.idle();
  assert.equal(state.calls, 5);
  assert.equal(scheduler.failing, 5);
  // Two probe rounds while it stays closed: one call each, not one per waiting request.
  await until(() => state.calls >= 7);
  assert.ok(state.calls <= 8, `${state.calls} calls`);
  const beforeOpening = state.calls;
  state.open = true;
  await until(() => done.size === 5);
  await work.idle();
  assert.equal(scheduler.failing, 0);
  // The probe that got through, then the other four; none twice.
  assert.ok(state.calls - beforeOpening <= 6, `${state.calls - beforeOpening} calls after opening`);
});

test("Mattermost answering again releases every waiting request at once", async (t) => {
  const { state, work, scheduler, done } = setup();
  t.after(() => scheduler.stop());
  for (const id of ["a", "b", "c"]) work.push(id, view(id));
  await work.idle();
  state.open = true;
  scheduler.resumeParked();
  await work.idle();
  assert.deepEqual([...done].sort(), ["a", "b", "c"]);
});
