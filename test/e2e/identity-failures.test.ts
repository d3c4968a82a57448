/**
 * Teleport failures that waiting does not heal, as an operator meets them: the plugin's
 * certificate expiring while the daemon runs, `root_cas` of another cluster, `addr` pointing at
 * an HTTP port. The daemon runs as a child process against the stand-ins.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { PLUGIN_ROLE, PLUGIN_USER } from "../../src/demo/world.js";
import { createClusterPki } from "../../src/standins/pki.js";
import { runCli } from "../support/daemon-process.js";
import { getRaw } from "../support/http.js";
import { openStage } from "../support/stage.js";

/** How long the short-lived certificate of the first test lives once the daemon starts. */
const LIFETIME_MS = 12_000;

test("an identity that expires while the daemon runs: warned ahead, then every Teleport failure, /readyz and the log say it expired, with the tctl command", async (t) => {
  const stage = await openStage(t);
  const { world, dir } = stage;
  const { configPath } = await stage.writeConfig({ replace: { severity: 'severity = "info"' } });
  // Certificates count whole seconds: expire on a second boundary, LIFETIME_MS from now.
  const notAfter = new Date(Math.ceil((Date.now() + LIFETIME_MS) / 1000) * 1000);
  const identity = await world.teleport.issueIdentity(PLUGIN_USER, [PLUGIN_ROLE], { notAfter });
  await dir.write("auth.crt", identity.crt);
  await dir.write("auth.key", identity.key);
  const daemon = stage.spawn(["start", "-c", configPath]);
  const ahead = await daemon.waitForLog((line) =>
    line.msg.startsWith("The plugin's Teleport certificate expires in"),
  );
  assert.equal(ahead.level, "warn");
  await daemon.waitForLog("Watcher connected");
  const health = await daemon.healthUrl();
  const metrics = await getRaw(`${health}/metrics`);
  assert.match(
    metrics.text,
    new RegExp(`teleport_mattermost_identity_expiry_timestamp_seconds ${notAfter.getTime() / 1000}\\b`),
  );
  assert.equal((await getRaw(`${health}/readyz`)).status, 200);

  const expired = await daemon.waitForLog(/certificate expired at/, LIFETIME_MS + 10_000);
  assert.equal(expired.level, "error");
  assert.match(String(expired["fix"]), /tctl auth sign --format=tls --user=access-plugin-mattermost/);
  const ready = await getRaw(`${health}/readyz`);
  assert.equal(ready.status, 503);
  assert.match(ready.text, /expired at .*tctl auth sign/);

  // The watch reconnects (Teleport restarted); the handshake fails, and the log says why.
  await world.teleport.restart({ downtimeMs: 200 });
  const failed = await daemon.waitForLog(
    (line) => line.msg.startsWith("Failed to watch Teleport access requests"),
    20_000,
  );
  assert.match(String(failed["err"]), /certificate expired at .*tctl auth sign/);
  assert.doesNotMatch(String(failed["err"]), /SSL routines|Resolution note/);
});

test("root_cas of another cluster: start exits 1 with the fix instead of retrying as 'not reachable'", async (t) => {
  const stage = await openStage(t);
  const { dir } = stage;
  const { configPath } = await stage.writeConfig();
  await dir.write("auth.cas", (await createClusterPki("other.example.com")).hostCa.cert);
  const result = await runCli(["start", "-c", configPath], { timeoutMs: 30_000 });
  assert.equal(result.code, 1, result.stderr.slice(-2000));
  assert.match(result.stderr, /root_cas does not trust \(certificate verification failed\)/);
  assert.match(result.stderr, /tctl auth sign --format=tls/);
  assert.doesNotMatch(result.stderr, /not reachable yet/);
});

test("addr pointing at an HTTP port: start exits 1 saying the port does not speak TLS", async (t) => {
  const stage = await openStage(t);
  const { world } = stage;
  const { configPath } = await stage.writeConfig({
    replace: { addr: `addr = "${new URL(world.mattermost.url).host}"` },
  });
  const result = await runCli(["start", "-c", configPath], { timeoutMs: 30_000 });
  assert.equal(result.code, 1, result.stderr.slice(-2000));
  assert.match(result.stderr, /does not speak TLS \(is it an HTTP port\?\)/);
  assert.match(result.stderr, /Set \[teleport\] addr to the auth server/);
  assert.doesNotMatch(result.stderr, /SSL routines/);
});
