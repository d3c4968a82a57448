/**
 * HTTP/2 flow control on the Teleport connection: how much Teleport may send before it must wait
 * for the client to ask for more. A catch-up lists every request and every plugin record in one
 * answer each; at HTTP/2's default 64 KB a listing of 1,000 waited for a dozen extra round trips,
 * which over a WAN link took longer than the rest of the catch-up. Real client, real stand-in,
 * mutual TLS; the stand-in reads the windows off the connection as Teleport's server would see them.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { TeleportStandin } from "../../src/standins/teleport/index.js";
import { LISTING_WINDOW_BYTES, TeleportClient } from "../../src/teleport/client.js";

test("the client lets Teleport send a whole listing of thousands of requests without waiting", async (t) => {
  const standin = await TeleportStandin.start({ version: "6.2.1" });
  t.after(() => standin.stop());
  const files = await standin.issueIdentity("access-plugin-mattermost", ["access-plugin"]);
  const client = new TeleportClient({
    addr: standin.addr,
    identity: { cert: files.crt, key: files.key, cas: files.cas },
  });
  t.after(() => client.close());
  for (let i = 0; i < 2_000; i++)
    standin.createRequest({ user: `user-${i}`, roles: ["dba"], reason: "x".repeat(40) });
  const listed = await client.listRequests();
  assert.equal(listed.length, 2_000);
  assert.ok(standin.clientWindows.length > 0, "no connection recorded");
  for (const windows of standin.clientWindows) {
    // ~175 bytes per request: 2,000 of them are ~350 KB, past HTTP/2's default of 65,535 bytes.
    assert.ok(windows.stream >= LISTING_WINDOW_BYTES, `stream window ${windows.stream}`);
    assert.ok(windows.connection >= LISTING_WINDOW_BYTES, `connection window ${windows.connection}`);
  }
});
