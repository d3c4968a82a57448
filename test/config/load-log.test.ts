/**
 * [log]: where logs go and how much, in every spelling the original plugin accepted
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertError, BASE, lineOf, load, loadError } from "../support/config-load.js";

describe("loadConfig: [log]", () => {
  it("maps every log output and severity spelling of the original plugin", async () => {
    const outputs: Record<string, string> = {
      stderr: "stderr",
      error: "stderr",
      "2": "stderr",
      STDOUT: "stdout",
      out: "stdout",
      "1": "stdout",
    };
    for (const [output, kind] of Object.entries(outputs)) {
      const { config } = await load(`${BASE}\n[log]\noutput = "${output}"\n`);
      assert.deepEqual(config.log.output, { kind }, output);
    }
    const severities: Record<string, string> = {
      info: "info",
      INFO: "info",
      err: "error",
      Error: "error",
      debug: "debug",
      warn: "warn",
      WARNING: "warn",
    };
    for (const [severity, level] of Object.entries(severities)) {
      const { config } = await load(`${BASE}\n[log]\nseverity = "${severity}"\n`);
      assert.equal(config.log.severity, level, severity);
    }
  });

  it("reads [log] format, text by default, and refuses other formats", async () => {
    assert.equal((await load(BASE)).config.log.format, "text");
    assert.equal((await load(`${BASE}\n[log]\nformat = "JSON"\n`)).config.log.format, "json");
    const text = `${BASE}\n[log]\nformat = "logfmt"\n`;
    assertError(await loadError(text), {
      line: lineOf(text, "format"),
      message: 'log.format "logfmt" is not a known format',
      fix: 'Use "text" (readable lines, the default) or "json"',
    });
  });

  it("refuses an unknown severity", async () => {
    const text = `${BASE}\n[log]\nseverity = "verbose"\n`;
    assertError(await loadError(text), {
      line: lineOf(text, "severity"),
      message: 'log.severity "verbose" is not a known severity',
      fix: '"info", "warn", "error" or "debug"',
    });
  });
});
