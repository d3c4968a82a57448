/**
 * The Teleport proxy stand-in on its own, driven with plain TLS and HTTPS clients: what it reads
 * from a ClientHello, the auth route it forwards untouched or refuses, and its HTTPS side.
 */
import assert from "node:assert/strict";
import * as https from "node:https";
import { createServer } from "node:net";
import { after, before, describe, test } from "node:test";
import * as tls from "node:tls";
import { TeleportStandin } from "../../src/standins/teleport/index.js";
import { parseClientHello, TeleportProxyStandin } from "../../src/standins/teleport-proxy/index.js";
import { authAlpn, TELEPORT_SERVER_NAME } from "../../src/teleport/route.js";

const CLUSTER = "teleport.example.com";

/** The first bytes a Node TLS client sends with these options. */
async function clientHelloBytes(options: tls.ConnectionOptions): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const port = (server.address() as { port: number }).port;
    const received = new Promise<Buffer>((resolve) =>
      server.once("connection", (socket) =>
        socket.once("data", (data: Buffer) => {
          resolve(data);
          socket.destroy();
        }),
      ),
    );
    const client = tls.connect({ host: "127.0.0.1", port, ...options });
    client.on("error", () => {});
    return await received;
  } finally {
    server.close();
  }
}

/** A TLS handshake with the proxy; resolves with who answered (the certificate's issuer CN) or the error code. */
function handshake(
  port: number,
  options: tls.ConnectionOptions,
): Promise<{ issuer?: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false, ...options }, () => {
      const issuer = socket.getPeerCertificate().issuer?.CN;
      resolve({ issuer: Array.isArray(issuer) ? issuer.join(",") : issuer });
      socket.destroy();
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
  });
}

function get(proxy: TeleportProxyStandin, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: "127.0.0.1", port: proxy.port, path, ca: proxy.webCaCert, agent: false }, (response) => {
        let body = "";
        response.on("data", (chunk) => (body += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

test("the ClientHello parser reads the server name and the ALPN list, in order", async () => {
  const bytes = await clientHelloBytes({
    servername: "proxy.example.com",
    ALPNProtocols: ["teleport-auth@x", "h2"],
  });
  assert.deepEqual(parseClientHello(bytes), {
    kind: "hello",
    hello: { serverName: "proxy.example.com", alpn: ["teleport-auth@x", "h2"] },
  });
  assert.deepEqual(parseClientHello(bytes.subarray(0, 20)), { kind: "incomplete" });
  assert.equal(parseClientHello(Buffer.from("GET / HTTP/1.1\r\n\r\n")).kind, "not-tls");
});

describe("the proxy stand-in", () => {
  let auth: TeleportStandin;
  let proxy: TeleportProxyStandin;

  before(async () => {
    auth = await TeleportStandin.start({ version: "18.0.0", clusterName: CLUSTER });
    proxy = await TeleportProxyStandin.start({ authAddr: auth.addr, clusterName: CLUSTER });
  });

  after(async () => {
    await proxy?.stop();
    await auth?.stop();
  });

  test("teleport-auth@ for its cluster: the auth server's own certificate answers (forwarded, not terminated)", async () => {
    const answer = await handshake(proxy.port, {
      servername: TELEPORT_SERVER_NAME,
      ALPNProtocols: [authAlpn(CLUSTER), "h2"],
    });
    assert.equal(answer.issuer, CLUSTER, "the Host CA (O=CN=<cluster>) issued the certificate");
    assert.deepEqual(proxy.routes.at(-1), { via: "tls-routing", cluster: CLUSTER, outcome: "forwarded" });
  });

  test("teleport-auth@ for a cluster it does not know: the connection is closed, no TLS alert", async () => {
    const answer = await handshake(proxy.port, {
      servername: TELEPORT_SERVER_NAME,
      ALPNProtocols: [authAlpn("other.example.com"), "h2"],
    });
    assert.equal(answer.error, "ECONNRESET");
    assert.deepEqual(proxy.routes.at(-1), {
      via: "tls-routing",
      cluster: "other.example.com",
      outcome: "refused",
    });
  });

  test("anything else gets the web certificate from the public CA, and plain HTTPS", async () => {
    assert.equal((await handshake(proxy.port, { ALPNProtocols: ["h2"] })).issuer, "Stand-in Public Root CA");
    const ping = await get(proxy, "/webapi/ping");
    assert.equal(ping.status, 200);
    const body = JSON.parse(ping.body) as { cluster_name: string; proxy: { tls_routing_enabled: boolean } };
    assert.equal(body.cluster_name, CLUSTER);
    assert.equal(body.proxy.tls_routing_enabled, true);
    assert.equal((await get(proxy, "/web/login")).status, 404);
  });

  test("the connection upgrade accepts only a WebSocket with the alpn or alpn-ping sub-protocol", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const request = https.request({
        host: "127.0.0.1",
        port: proxy.port,
        path: "/webapi/connectionupgrade",
        ca: proxy.webCaCert,
        agent: false,
        headers: { Upgrade: "alpn", "X-Teleport-Upgrade": "alpn", Connection: "Upgrade" },
      });
      request.on("response", (response) => resolve(response.statusCode ?? 0));
      request.on("upgrade", () => resolve(101));
      request.on("error", reject);
      request.end();
    });
    assert.equal(status, 404, "the legacy upgrade is not modelled: it answers as an unsupported type");
  });
});
