import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { createLogger } from "../../src/cli/logger.js";
import { makeTempDir } from "../support/temp-dir.js";

test("log lines never echo unbounded input: long messages and fields are cut with a marker", async (t) => {
  const dir = await makeTempDir();
  t.after(() => dir.remove());
  const path = join(dir.path, "log.json");
  const { logger } = createLogger({ output: path, severity: "info", format: "json" });
  const huge = "a".repeat(100_000);
  logger.child({ addr: huge }).warn({ err: huge, nested: { list: [huge] } }, `Retrying ${huge}`);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const line = (await readFile(path, "utf8")).trim();
  assert.ok(line.length < 12_000, `${line.length} characters`);
  const record = JSON.parse(line) as Record<string, unknown>;
  assert.match(String(record["msg"]), /… \(\d+ more characters\)$/);
  assert.match(String(record["err"]), /… \(98000 more characters\)$/);
  assert.match(String(record["addr"]), /more characters\)$/);
});
