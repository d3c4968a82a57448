import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDurationMs } from "../../src/config/duration.js";

describe("parseDurationMs", () => {
  it("reads Go durations", () => {
    assert.equal(parseDurationMs("1m"), 60_000);
    assert.equal(parseDurationMs("90s"), 90_000);
    assert.equal(parseDurationMs("1h30m"), 5_400_000);
    assert.equal(parseDurationMs("1.5h"), 5_400_000);
    assert.equal(parseDurationMs("500ms"), 500);
    assert.equal(parseDurationMs(" 2s "), 2000);
    assert.equal(parseDurationMs("0"), 0);
  });

  it("refuses anything else", () => {
    for (const text of ["", "1", "m", "5 minutes", "1d", "-1m", "1m 30s", "1mm"]) {
      assert.equal(parseDurationMs(text), undefined, text);
    }
  });
});
