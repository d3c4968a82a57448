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

for (const format of ["json", "text"] as const) {
  test(`tokens, secrets, passwords and authorization values never reach a line (${format})`, async (t) => {
    const dir = await makeTempDir();
    t.after(() => dir.remove());
    const path = join(dir.path, "log.txt");
    const { logger } = createLogger({ output: path, severity: "info", format });
    const values = [
      "tok-top-1234567",
      "sec-nested-7654321",
      "pw-deep-1111111",
      "auth-2222222",
      "bound-3333333",
    ];
    logger.child({ request_id: "r1", secret: values[4] }).warn(
      {
        token: values[0],
        call: { secret: values[1], route: "POST /posts" },
        headers: { list: [{ password: values[2] }], authorization: values[3] },
      },
      "Calling Mattermost",
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const line = await readFile(path, "utf8");
    for (const value of values) assert.ok(!line.includes(value), `${value} in ${line}`);
    assert.match(line, /POST \/posts/);
    assert.match(line, /r1/);
    assert.ok((line.match(/\[redacted\]/g) ?? []).length >= 5, line);
  });
}
