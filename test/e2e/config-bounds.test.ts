/**
 * Values no server would accept are refused when the config loads, with key and line, instead
 * of being retried (and logged) forever; what reaches stderr stays bounded. `start` runs as a
 * child process, as an operator runs it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runCli } from "../support/daemon-process.js";
import { openStage } from "../support/stage.js";

test("a 100 KB [teleport] addr: start exits 1 at once naming the key and line, and writes a short message", async (t) => {
  const stage = await openStage(t);
  const host = "a".repeat(100_000);
  const { configPath } = await stage.writeConfig({ replace: { addr: `addr = "${host}:3025"` } });
  const result = await runCli(["start", "-c", configPath], { timeoutMs: 15_000 });
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /line 2: teleport\.addr "a{80}… \(99925 more characters\)" has a host name of 100000 characters; DNS allows at most 253/,
  );
  assert.ok(result.stderr.length < 2_000, `${result.stderr.length} bytes on stderr`);
});

test("names Mattermost would refuse are refused at load with key and line", async (t) => {
  const stage = await openStage(t);
  const cases: Array<{ replace: Record<string, string>; error: RegExp }> = [
    {
      replace: { channel: 'channel = "Access Requests"' },
      error: /line 10: mattermost\.channel "Access Requests" is not usable: a Mattermost channel name/,
    },
    {
      replace: { team: `team = "${"t".repeat(65)}"` },
      error: /line 9: mattermost\.team .* a Mattermost team name has 2–64 characters/,
    },
    {
      replace: { addr: 'addr = "teleport.example.com:0"' },
      error: /line 2: teleport\.addr "teleport\.example\.com:0" has a port outside 1–65535/,
    },
    {
      replace: { secret: `secret = "${"s".repeat(2_000)}"` },
      error: /line 12: mattermost\.secret is too long \(2000 characters; at most 1024\)/,
    },
    {
      replace: {
        secret:
          'secret = "test-secret-0123456789abcdef0123456789"\nrecipients = ["acme/security", "bad name!"]',
      },
      error:
        /line 13: mattermost\.recipients\[1\] "bad name!" is not a recipient: a Mattermost username holds only/,
    },
  ];
  for (const { replace, error } of cases) {
    const { configPath } = await stage.writeConfig({ replace });
    const result = await runCli(["start", "-c", configPath], { timeoutMs: 15_000 });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, error);
    assert.ok(result.stderr.length < 2_000, `${result.stderr.length} bytes on stderr`);
  }
});
