/**
 * How the Teleport client reaches the auth API from `addr`: the auth stand-in directly, or the
 * proxy stand-in in front of it with TLS routing or behind an L7 load balancer (connection
 * upgrade), and the errors when none of that works. Real servers on loopback, real TLS.
 */
import assert from "node:assert/strict";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, before, describe, type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { AppError } from "../../src/errors.js";
import { createClusterPki, issueUserCert } from "../../src/standins/pki.js";
import { TeleportStandin, type TeleportVersion } from "../../src/standins/teleport/index.js";
import {
  TeleportProxyStandin,
  type TeleportProxyStandinOptions,
} from "../../src/standins/teleport-proxy/index.js";
import { TeleportClient, type TeleportClientOptions } from "../../src/teleport/client.js";
import { Connection } from "../../src/teleport/connection.js";
import { authAlpn, clusterNameOf, encodeClusterName } from "../../src/teleport/route.js";
import { describeRoute } from "../../src/teleport/route-detect.js";
import { ConnectProxy } from "../support/connect-proxy.js";

const CLUSTER = "teleport.example.com";
const TEST_TIMEOUT_MS = 30_000;

type Identity = TeleportClientOptions["identity"];

async function proxyFor(
  t: TestContext,
  auth: TeleportStandin,
  options: Partial<TeleportProxyStandinOptions> = {},
): Promise<TeleportProxyStandin> {
  const proxy = await TeleportProxyStandin.start({ authAddr: auth.addr, clusterName: CLUSTER, ...options });
  t.after(() => proxy.stop());
  return proxy;
}

function clientFor(
  t: TestContext,
  addr: string,
  identity: Identity,
  options: Partial<TeleportClientOptions> = {},
) {
  const client = new TeleportClient({ addr, identity, callTimeoutMs: 10_000, ...options });
  t.after(() => client.close());
  return client;
}

/** The error a ping ends with. */
async function pingError(client: TeleportClient): Promise<AppError> {
  const error = await client.ping().then(
    () => undefined,
    (failure: unknown) => failure,
  );
  assert.ok(error instanceof AppError, `ping should fail, got ${String(error)}`);
  return error;
}

/** The watch's first event, through whatever route the client found. */
async function firstWatchEvent(client: TeleportClient): Promise<string> {
  const stop = new AbortController();
  try {
    for await (const event of client.watchRequests(stop.signal)) return event.type;
    return "ended";
  } finally {
    stop.abort();
  }
}

test("the cluster name comes from the identity, encoded as Teleport's EncodeClusterName does", async () => {
  const pki = await createClusterPki(CLUSTER);
  const { cert } = await issueUserCert(pki, { user: "access-plugin-mattermost", roles: ["access-plugin"] });
  assert.equal(clusterNameOf(cert), CLUSTER);
  assert.equal(encodeClusterName(CLUSTER), "74656c65706f72742e6578616d706c652e636f6d.teleport.cluster.local");
  assert.equal(authAlpn("a"), "teleport-auth@61.teleport.cluster.local");
});

for (const version of ["6.2.1", "18.0.0"] as const satisfies readonly TeleportVersion[])
  describe(`Teleport ${version} auth stand-in`, () => {
    let auth: TeleportStandin;
    let identity: Identity;

    before(async () => {
      auth = await TeleportStandin.start({ version, clusterName: CLUSTER });
      const files = await auth.issueIdentity("access-plugin-mattermost", ["access-plugin"]);
      identity = { cert: files.crt, key: files.key, cas: files.cas };
    });

    after(() => auth?.stop());

    test("addr on the auth server: the direct route", { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const client = clientFor(t, auth.addr, identity);
      assert.equal((await client.ping()).clusterName, CLUSTER);
      assert.equal(client.route?.kind, "direct");
      assert.equal(client.route?.failed.length, 0);
    });

    test("addr on the auth server: the route test's handshake is the connection, none is made twice", {
      timeout: TEST_TIMEOUT_MS,
    }, async (t) => {
      // The forward proxy counts the TCP connections made to the auth server.
      const forward = await ConnectProxy.start();
      t.after(() => forward.stop());
      const client = clientFor(t, auth.addr, identity, { env: { HTTPS_PROXY: forward.url } });
      assert.equal((await client.ping()).clusterName, CLUSTER);
      assert.equal(await firstWatchEvent(client), "init");
      assert.equal(client.route?.kind, "direct");
      assert.equal(forward.count(auth.addr), 1, `tunnels: ${forward.tunnels.join(", ")}`);
    });

    test("addr on a proxy with TLS routing: the handshake goes through to the auth server", {
      timeout: TEST_TIMEOUT_MS,
    }, async (t) => {
      const proxy = await proxyFor(t, auth);
      const client = clientFor(t, proxy.addr, identity);
      assert.equal((await client.ping()).serverVersion, version);
      assert.equal(await firstWatchEvent(client), "init");
      assert.equal(client.route?.kind, "tls-routing");
      assert.match(
        describeRoute(client.route!),
        /is the Teleport proxy of cluster teleport\.example\.com; .*TLS routing/,
      );
      assert.match(
        describeRoute(client.route!),
        /direct to an auth server: the certificate presented is not from the cluster's host CA/,
      );
      assert.ok(proxy.routes.length >= 2, "probe and real connection were routed");
      assert.ok(proxy.routes.every((route) => route.via === "tls-routing" && route.outcome === "forwarded"));
      assert.ok(!proxy.requests.some((request) => request.includes("connectionupgrade")));
    });

    test("addr on a proxy behind an L7 load balancer: the connection upgrade, then the same TLS", {
      timeout: TEST_TIMEOUT_MS,
    }, async (t) => {
      const proxy = await proxyFor(t, auth, { behindLoadBalancer: true, pingIntervalMs: 100 });
      const client = clientFor(t, proxy.addr, identity, { proxyCa: proxy.webCaCert });
      assert.equal((await client.ping()).clusterName, CLUSTER);
      // The proxy pings every 100 ms; the tunnel must stay up across several of them.
      await new Promise((resolve) => setTimeout(resolve, 350));
      assert.equal(await firstWatchEvent(client), "init");
      assert.equal(client.route?.kind, "upgrade");
      assert.match(
        describeRoute(client.route!),
        /L7 load balancer.*connection upgrade.*TLS routing through the proxy: the certificate presented is not from the cluster's host CA/,
      );
      assert.ok(
        proxy.routes.length >= 2 &&
          proxy.routes.every((route) => route.via === "upgrade" && route.outcome === "forwarded"),
      );
      assert.ok(proxy.requests.includes("GET /webapi/connectionupgrade 101"));
    });

    test("behind a forward proxy (HTTPS_PROXY): the route tests and the connection tunnel through it", {
      timeout: TEST_TIMEOUT_MS,
    }, async (t) => {
      const proxy = await proxyFor(t, auth, { behindLoadBalancer: true });
      const forward = await ConnectProxy.start();
      t.after(() => forward.stop());
      const client = clientFor(t, proxy.addr, identity, {
        proxyCa: proxy.webCaCert,
        env: { HTTPS_PROXY: forward.url },
      });
      await client.ping();
      assert.equal(client.route?.kind, "upgrade");
      // direct, /webapi/ping, TLS routing, the upgrade test, the upgrade, then grpc-js's own.
      assert.ok(forward.count(proxy.addr) >= 6, `tunnels: ${forward.tunnels.join(", ")}`);
      assert.deepEqual(new Set(forward.tunnels), new Set([proxy.addr]));
    });

    test("connection_upgrade = true upgrades even where TLS routing would work", {
      timeout: TEST_TIMEOUT_MS,
    }, async (t) => {
      const proxy = await proxyFor(t, auth);
      const client = clientFor(t, proxy.addr, identity, {
        proxyCa: proxy.webCaCert,
        connectionUpgrade: true,
      });
      await client.ping();
      assert.equal(client.route?.kind, "upgrade");
      assert.ok(proxy.routes.every((route) => route.via === "upgrade"));
    });
  });

describe("errors that name the fix", () => {
  let auth: TeleportStandin;
  let identity: Identity;

  before(async () => {
    auth = await TeleportStandin.start({ version: "18.0.0", clusterName: CLUSTER });
    const files = await auth.issueIdentity("access-plugin-mattermost", ["access-plugin"]);
    identity = { cert: files.crt, key: files.key, cas: files.cas };
  });

  after(() => auth?.stop());

  test("an identity of another cluster: the proxy refuses the route, the error names both clusters", {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    const proxy = await proxyFor(t, auth);
    const other = await createClusterPki("staging.example.com");
    const stranger = await issueUserCert(other, {
      user: "access-plugin-mattermost",
      roles: ["access-plugin"],
    });
    const client = clientFor(t, proxy.addr, {
      cert: stranger.cert,
      key: stranger.key,
      cas: other.hostCa.cert,
    });
    const error = await pingError(client);
    assert.match(
      error.message,
      /proxy of cluster teleport\.example\.com, but the identity was issued by cluster staging\.example\.com/,
    );
    assert.match(error.fix ?? "", /Export the plugin's identity from cluster teleport\.example\.com/);
    assert.equal(error.retryable, false);
    assert.deepEqual(proxy.routes.at(-1), {
      via: "tls-routing",
      cluster: "staging.example.com",
      outcome: "refused",
    });
  });

  test("a web certificate this host does not trust: the upgrade stops, the fix names proxy_ca_file", {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    const proxy = await proxyFor(t, auth, { behindLoadBalancer: true });
    const error = await pingError(clientFor(t, proxy.addr, identity));
    assert.match(
      error.message,
      /web certificate of the proxy at 127\.0\.0\.1:\d+ is not trusted here \(.*unable to verify/,
    );
    assert.match(error.fix ?? "", /\[teleport\] proxy_ca_file/);
    assert.equal(error.retryable, false);
    assert.equal(proxy.routes.length, 0);
  });

  test("a proxy without TLS routing: the error says so and points at the auth server", {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    const proxy = await proxyFor(t, auth, { tlsRouting: false });
    const error = await pingError(clientFor(t, proxy.addr, identity, { proxyCa: proxy.webCaCert }));
    assert.match(
      error.message,
      /does not route to the auth server \(its \/webapi\/ping says tls_routing_enabled: false\)/,
    );
    assert.match(error.fix ?? "", /Enable TLS routing.*host:3025/);
  });

  test("connection_upgrade = false behind a load balancer: no route, and the fix says to turn it on", {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    const proxy = await proxyFor(t, auth, { behindLoadBalancer: true });
    const error = await pingError(
      clientFor(t, proxy.addr, identity, { proxyCa: proxy.webCaCert, connectionUpgrade: false }),
    );
    assert.match(
      error.message,
      /does not route to the auth server: the certificate presented is not from the cluster's host CA/,
    );
    assert.match(error.fix ?? "", /connection_upgrade = true/);
  });

  test("a proxy older than 15.1 behind a load balancer: no WebSocket upgrade", {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    const proxy = await proxyFor(t, auth, {
      behindLoadBalancer: true,
      webSocketUpgrade: false,
      version: "14.3.0",
    });
    const error = await pingError(clientFor(t, proxy.addr, identity, { proxyCa: proxy.webCaCert }));
    assert.match(
      error.message,
      /no WebSocket connection upgrade .*HTTP 404; Teleport 14\.3\.0, it needs 15\.1 or newer/,
    );
  });

  test("a port that does not speak TLS: wrong port", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const accepted = new Set<Socket>();
    const ssh: Server = createServer((socket) => {
      accepted.add(socket);
      socket.end("SSH-2.0-Teleport\r\n");
    });
    await new Promise<void>((resolve) => ssh.listen(0, "127.0.0.1", resolve));
    t.after(() => {
      ssh.close();
      for (const socket of accepted) socket.destroy();
    });
    const address = ssh.address() as { port: number };
    const client = clientFor(t, `127.0.0.1:${address.port}`, identity);
    const error = await pingError(client);
    assert.match(error.message, /does not speak TLS \(is it an HTTP port\?\)/);
    assert.doesNotMatch(error.message, /SSL routines/);
    assert.match(error.fix ?? "", /host:3025.*host:443/);
  });

  test("a forward proxy that refuses CONNECT: the error names the proxy and NO_PROXY, not grpc-js's text", {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    // As squid answers a CONNECT to a port its ACLs do not allow (e.g. 3025).
    const refusing: Server = createServer((socket) => {
      socket.once("data", () => socket.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"));
    });
    await new Promise<void>((resolve) => refusing.listen(0, "127.0.0.1", resolve));
    t.after(() => refusing.close());
    const { port } = refusing.address() as { port: number };
    const error = await pingError(
      clientFor(t, auth.addr, identity, { env: { HTTPS_PROXY: `http://127.0.0.1:${port}` } }),
    );
    assert.match(
      error.message,
      new RegExp(`through the proxy http://127\\.0\\.0\\.1:${port} \\(HTTPS_PROXY\\)`),
    );
    assert.doesNotMatch(error.message, /Last error: undefined/);
    assert.match(error.fix ?? "", /NO_PROXY/);
    assert.equal(error.retryable, true);
  });

  test("a forward proxy that is down: the error names the proxy", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const closed: Server = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await pingError(
      clientFor(t, auth.addr, identity, { env: { https_proxy: `http://127.0.0.1:${port}` } }),
    );
    assert.match(error.message, /through the proxy http:\/\/127\.0\.0\.1:\d+ \(https_proxy\)/);
    assert.match(error.fix ?? "", /NO_PROXY/);
  });

  test("nothing listening: a connection error the daemon tries again", {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    const closed: Server = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await pingError(clientFor(t, `127.0.0.1:${port}`, identity));
    // grpc-js's own TCP connect fails before any route is tried.
    assert.match(error.message, /ECONNREFUSED 127\.0\.0\.1:\d+/);
    // grpc-js's wrapping ("Last error: Error: …. Resolution note: ") is not the operator's business.
    assert.doesNotMatch(error.message, /Last error|Resolution note|Error: connect/);
    assert.equal(error.retryable, true);
  });
});

test("a connection reset while it waits for the route another is finding fails, and the process lives", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const standin = await TeleportStandin.start({ version: "6.2.1" });
  t.after(() => standin.stop());
  const files = await standin.issueIdentity("access-plugin-mattermost", ["access-plugin"]);
  const accepted = new Map<number, Socket>();
  const silent = createServer((socket) => {
    socket.on("error", () => {});
    accepted.set(socket.remotePort ?? 0, socket);
  });
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    for (const socket of accepted.values()) socket.destroy();
    silent.close();
  });
  const port = (silent.address() as { port: number }).port;
  const connection = new Connection({
    addr: `127.0.0.1:${port}`,
    identity: { cert: files.crt, key: files.key, cas: files.cas },
  });
  const tcp = () =>
    new Promise<Socket>((resolve, reject) => {
      // Like grpc-js: the socket is handed over connected, with no 'error' listener left.
      const socket = connect(port, "127.0.0.1", () => {
        socket.off("error", reject);
        resolve(socket);
      });
      socket.once("error", reject);
    });
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  process.on("uncaughtException", onUncaught);
  t.after(() => process.off("uncaughtException", onUncaught));
  const finding = connection.open(await tcp()).catch((error: unknown) => error);
  const waiting = await tcp();
  const opened = connection.open(waiting).catch((error: unknown) => error);
  while (!accepted.has(waiting.localPort ?? -1)) await sleep(10);
  accepted.get(waiting.localPort ?? -1)?.resetAndDestroy();
  assert.ok((await opened) instanceof AppError);
  assert.ok((await finding) instanceof AppError);
  assert.deepEqual(uncaught, []);
});
