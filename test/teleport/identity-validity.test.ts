import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import { AppError } from "../../src/errors.js";
import type { Clock } from "../../src/lib/clock.js";
import { IdentityValidity } from "../../src/teleport/identity-validity.js";
import { transportFailure } from "../../src/teleport/transport-failures.js";

const DAY = 24 * 60 * 60_000;

/** A logger that keeps its lines, and a clock the test moves. */
function setup(left: number) {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => lines.push(JSON.parse(line)) });
  let now = 1_000_000;
  const clock: Clock = { now: () => now, sleep: async () => {} };
  const expired: string[] = [];
  const validity = new IdentityValidity({
    notAfter: new Date(now + left),
    renewCommand: "tctl auth sign --format=tls --user=plugin --out=auth --ttl=8760h",
    clock,
    logger,
    onExpired: (message) => expired.push(message),
  });
  return { lines, validity, expired, advance: (ms: number) => (now += ms) };
}

test("a certificate within 7 days gets one warning at start; one with hours left, the 1-day one only", () => {
  const week = setup(3 * DAY);
  week.validity.start();
  week.validity.stop();
  assert.deepEqual(
    week.lines.map((line) => line.msg),
    [
      `The plugin's Teleport certificate expires in 3 day(s), at ${new Date(1_000_000 + 3 * DAY).toISOString()}`,
    ],
  );
  const hours = setup(3 * 60 * 60_000);
  hours.validity.start();
  hours.validity.stop();
  assert.equal(hours.lines.length, 1);
  assert.match(hours.lines[0]!.msg, /expires in 3 hour\(s\)/);
  const fresh = setup(30 * DAY);
  fresh.validity.start();
  fresh.validity.stop();
  assert.equal(fresh.lines.length, 0);
});

test("once expired, Teleport failures say so with the command, /readyz is told, and bookkeeping errors stay as they are", () => {
  const { validity, expired, advance, lines } = setup(1_000);
  const reset = new AppError("TELEPORT", "Teleport WatchEvents failed: read ECONNRESET", { retryable: true });
  assert.equal(validity.explain(reset), reset);
  advance(1_000);
  validity.start();
  validity.stop();
  assert.equal(expired.length, 1);
  assert.match(expired[0]!, /expired at .*tctl auth sign --format=tls --user=plugin/);
  assert.equal(lines.at(-1)?.level, 50);
  const explained = validity.explain(reset);
  assert.equal(explained.code, "CREDENTIALS");
  assert.match(explained.describe(), /certificate expired at .*ECONNRESET.*tctl auth sign/);
  assert.equal(explained.retryable, true);
  const conflict = new AppError("CONFLICT", "compare failed");
  assert.equal(validity.explain(conflict), conflict);
});

test("connection failures that waiting does not heal are named, without the TLS library's text", () => {
  const wrongPort = transportFailure(
    "No connection established. Last error: Error: 80:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../ssl3_record.c:350:",
    "mm.example.com:8065",
  );
  assert.equal(wrongPort?.problem, "not_tls");
  assert.match(wrongPort?.message ?? "", /mm\.example\.com:8065 does not speak TLS/);
  assert.equal(
    transportFailure("Last error: Error: unable to verify the first certificate", "a:1")?.problem,
    "server_untrusted",
  );
  assert.equal(
    transportFailure("Last error: Error: self-signed certificate in certificate chain", "a:1")?.problem,
    "server_untrusted",
  );
  assert.equal(
    transportFailure("ssl3_read_bytes:tlsv1 alert no application protocol:SSL alert number 120", "a:1")
      ?.problem,
    "not_grpc",
  );
  assert.equal(
    transportFailure("ssl3_read_bytes:sslv3 alert certificate expired:SSL alert number 45", "a:1")?.problem,
    "client_refused",
  );
  assert.equal(
    transportFailure(
      "No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:3025",
      "a:1",
    ),
    undefined,
  );
  assert.equal(transportFailure("Failed to connect", "a:1"), undefined);
});
