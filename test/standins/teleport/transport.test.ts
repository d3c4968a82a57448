/**
 * The stand-in's transport as the daemon meets it: Ping without a client certificate, refused
 * foreign certificates, Teleport's SNI rule, refused connections, answer delays and restarts
 * (src/standins/teleport/transport.ts, rpc.ts).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { status } from "@grpc/grpc-js";
import { createClusterPki, identityFiles, issueUserCert } from "../../../src/standins/pki.js";
import {
  assertStatus,
  connect,
  describeEvent,
  PLUGIN,
  PLUGIN_USER,
  setup,
  startStandin,
  TEST_TIMEOUT_MS,
  unary,
  watchAccessRequests,
} from "./support.js";

test("Ping works without a client certificate; every other method is PERMISSION_DENIED", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const standin = await startStandin(t, {
    clusterName: "acme.example.com",
    advancedAccessWorkflows: true,
    proxyPublicAddr: "proxy.acme.example.com:443",
  });
  const anonymous = connect(t, standin.addr, { cas: standin.caPem });

  const ping = await unary(anonymous, "ping", {});
  assert.equal(ping.clusterName, "acme.example.com");
  assert.equal(ping.serverVersion, "6.2.1");
  assert.equal(ping.serverFeatures?.advancedAccessWorkflows, true);
  assert.equal(ping.proxyPublicAddr, "proxy.acme.example.com:443");

  await assertStatus(
    unary(anonymous, "getAccessRequests", {}),
    status.PERMISSION_DENIED,
    'access denied to perform action "list" on "access_request"',
  );
  await assertStatus(unary(anonymous, "getPluginData", { kind: "access_request" }), status.PERMISSION_DENIED);
  const watch = watchAccessRequests(t, anonymous);
  assert.equal((await watch.ended).code, status.PERMISSION_DENIED);
  assert.equal(watch.messages.length, 0);

  assert.deepEqual(
    standin.calls.map(({ method, caller, code }) => [method, caller, code]),
    [
      ["Ping", undefined, status.OK],
      ["GetAccessRequests", undefined, status.PERMISSION_DENIED],
      ["GetPluginData", undefined, status.PERMISSION_DENIED],
      ["WatchEvents", undefined, status.PERMISSION_DENIED],
    ],
  );
});

test("a client certificate the User CA did not sign is refused at the handshake", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const standin = await startStandin(t, { clusterName: "acme.example.com" });
  const rejections: string[] = [];
  standin.on("tlsRejected", ({ reason }) => rejections.push(reason));

  // Another cluster with the same name: same CA subject, different keys.
  const otherPki = await createClusterPki("acme.example.com");
  const foreign = await identityFiles(otherPki, PLUGIN_USER, [PLUGIN_USER]);
  await assertStatus(
    unary(connect(t, standin.addr, { ...foreign, cas: standin.caPem }), "ping", {}),
    status.UNAVAILABLE,
  );

  // Signed by this cluster's Host CA, which has the same subject as the User CA.
  const hostSigned = await issueUserCert(
    { ...standin.pki, userCa: standin.pki.hostCa },
    { user: PLUGIN_USER, roles: ["Admin"] },
  );
  await assertStatus(
    unary(
      connect(t, standin.addr, { crt: hostSigned.cert, key: hostSigned.key, cas: standin.caPem }),
      "ping",
      {},
    ),
    status.UNAVAILABLE,
  );

  assert.ok(rejections.length >= 2, `rejections: ${JSON.stringify(rejections)}`);
  assert.equal(standin.calls.length, 0);
});

test("SNI: <hex(cluster)>.teleport.cluster.local works, another prefix aborts the handshake on 6.2.1", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const { standin, identity } = await setup(t, { clusterName: "acme" });
  const hexName = `${Buffer.from("acme").toString("hex")}.teleport.cluster.local`;
  assert.equal((await unary(connect(t, standin.addr, identity, hexName), "ping", {})).clusterName, "acme");
  assert.equal(
    (await unary(connect(t, standin.addr, identity, "localhost"), "ping", {})).clusterName,
    "acme",
  );
  await assertStatus(
    unary(connect(t, standin.addr, identity, "acme.teleport.cluster.local"), "ping", {}),
    status.UNAVAILABLE,
  );
});

test("refuseConnections and delayMs", { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { standin, identity } = await setup(t);
  await standin.refuseConnections(true);
  await assertStatus(unary(connect(t, standin.addr, identity), "ping", {}), status.UNAVAILABLE);
  await standin.refuseConnections(false);
  await unary(connect(t, standin.addr, identity), "ping", {});

  standin.delayMs = 150;
  const started = Date.now();
  await unary(connect(t, standin.addr, identity), "ping", {});
  assert.ok(Date.now() - started >= 140, "the answer was delayed");
});

test("restart keeps the store and the port; open watches end UNAVAILABLE", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const { standin, identity, client } = await setup(t);
  standin.createRequest({ id: "r1", user: "alice", roles: ["dba"] });
  await unary(client, "updatePluginData", {
    kind: "access_request",
    resource: "r1",
    plugin: PLUGIN,
    set: { post: "p1" },
  });
  const watch = watchAccessRequests(t, client);
  await watch.received(1);
  const port = standin.port;

  await standin.restart({ downtimeMs: 50 });
  assert.equal((await watch.ended).code, status.UNAVAILABLE);
  assert.equal(standin.port, port);

  // The daemon's existing channel reconnects by itself; a fresh one works too.
  assert.equal((await unary(client, "ping", {})).serverVersion, "6.2.1");
  const again = connect(t, standin.addr, identity);
  const [request] = (await unary(again, "getAccessRequests", { id: "r1" })).accessRequests;
  assert.equal(request?.spec?.user, "alice");
  const [data] = (await unary(again, "getPluginData", { kind: "access_request", resource: "r1" })).pluginData;
  assert.deepEqual(data?.spec?.entries[PLUGIN]?.data, { post: "p1" });
  const rewatch = watchAccessRequests(t, again);
  assert.deepEqual((await rewatch.received(1)).map(describeEvent), ["INIT"]);
});
