import assert from "node:assert/strict";
import { test } from "node:test";
import { KeyedWork } from "../../src/app/keyed-work.js";

test("work for one key runs in order and is coalesced; keys run concurrently up to the bound", async () => {
  const log: string[] = [];
  let active = 0;
  let maxActive = 0;
  const gates = new Map<string, () => void>();
  const work = new KeyedWork<number>(
    2,
    async (key, input) => {
      active++;
      maxActive = Math.max(maxActive, active);
      log.push(`start ${key}:${input}`);
      await new Promise<void>((resolve) => gates.set(`${key}:${input}`, resolve));
      log.push(`end ${key}:${input}`);
      active--;
    },
    () => assert.fail("no errors expected"),
  );
  work.push("a", 1);
  work.push("b", 1);
  work.push("c", 1);
  work.push("a", 2);
  work.push("a", 3); // replaces 2, which never started
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(log, ["start a:1", "start b:1"]);
  gates.get("a:1")?.();
  await new Promise((resolve) => setImmediate(resolve));
  gates.get("b:1")?.();
  await new Promise((resolve) => setImmediate(resolve));
  gates.get("c:1")?.();
  await new Promise((resolve) => setImmediate(resolve));
  gates.get("a:3")?.();
  await work.idle();
  assert.equal(maxActive, 2);
  assert.ok(!log.includes("start a:2"));
  assert.ok(log.indexOf("end a:1") < log.indexOf("start a:3"));
});

test("a failing run reports its error and does not stop the others", async () => {
  const errors: string[] = [];
  const done: string[] = [];
  const work = new KeyedWork<string>(
    4,
    async (key) => {
      if (key === "bad") throw new Error("boom");
      done.push(key);
    },
    (key) => errors.push(key),
  );
  work.push("bad", "x");
  work.push("good", "y");
  await work.idle();
  assert.deepEqual(errors, ["bad"]);
  assert.deepEqual(done, ["good"]);
});
