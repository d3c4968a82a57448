/**
 * Company networks: Mattermost reached only through a forward proxy (HTTPS_PROXY, HTTP_PROXY,
 * NO_PROXY in either case; a real HTTP CONNECT proxy on loopback counts the tunnels), Mattermost
 * served with a certificate from a private CA ([mattermost] ca_file), and the callback server
 * checking client certificates against [http.tls] client_ca_file. The daemon and `check` run as
 * child processes.
 */
import assert from "node:assert/strict";
import * as https from "node:https";
import { createServer, type Server } from "node:net";
import { after, before, describe, test } from "node:test";
import type { World } from "../../src/demo/world.js";
import { createTestCa, issueCert } from "../support/certs.js";
import { ConnectProxy } from "../support/connect-proxy.js";
import { DaemonProcess, runCli, writeDaemonConfig } from "../support/daemon-process.js";
import { suiteWorld } from "../support/stage.js";

const PROXY_VARIABLES = ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY"];

/** This process's environment without proxy variables, plus `extra`. */
function envWith(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of [...PROXY_VARIABLES, "grpc_proxy", "no_grpc_proxy"]) delete env[name];
  return { ...env, ...extra };
}

/** Creates a request in Teleport and resolves once Mattermost has its post. */
async function requestIsPosted(world: World): Promise<void> {
  const request = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: "proxy test" });
  const id = request.metadata!.name;
  await world.mattermost.waitFor(
    (event) => event.type === "post_created" && JSON.stringify(event.post.props ?? {}).includes(id),
    15_000,
  );
}

describe("through a forward proxy", () => {
  const setup = suiteWorld();
  let proxy: ConnectProxy;
  let mattermostTarget: string;
  let teleportTarget: string;
  before(async () => {
    proxy = await ConnectProxy.start();
    mattermostTarget = new URL(setup.world.mattermost.url).host;
    teleportTarget = setup.world.teleport.addr;
  });
  after(() => proxy.stop());

  async function runWith(env: Record<string, string>): Promise<DaemonProcess> {
    const { configPath } = await writeDaemonConfig(setup.dir, setup.world);
    const daemon = new DaemonProcess(["start", "-c", configPath], { env: envWith(env) });
    await daemon.waitForLog("Watcher connected");
    await requestIsPosted(setup.world);
    return daemon;
  }

  test("HTTPS_PROXY and HTTP_PROXY carry the Mattermost calls and the Teleport connection", async (t) => {
    const before = { mattermost: proxy.count(mattermostTarget), teleport: proxy.count(teleportTarget) };
    const daemon = await runWith({ HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url });
    t.after(() => daemon.stop());
    assert.ok(proxy.count(mattermostTarget) > before.mattermost, `tunnels: ${proxy.tunnels.join(", ")}`);
    assert.ok(proxy.count(teleportTarget) > before.teleport, `tunnels: ${proxy.tunnels.join(", ")}`);
    const shown = `http://127.0.0.1:${proxy.port}`;
    await daemon.waitForLog(`Mattermost is reached through the proxy ${shown} (HTTP_PROXY)`);
    await daemon.waitForLog(`Teleport is reached through the proxy ${shown} (HTTPS_PROXY)`);
    assert.equal(await daemon.stop(), 0);
  });

  test("NO_PROXY with the auth server's host:port sends only Teleport direct (lower-case proxy variables)", async (t) => {
    const before = { mattermost: proxy.count(mattermostTarget), teleport: proxy.count(teleportTarget) };
    const daemon = await runWith({ http_proxy: proxy.url, https_proxy: proxy.url, NO_PROXY: teleportTarget });
    t.after(() => daemon.stop());
    assert.ok(proxy.count(mattermostTarget) > before.mattermost, `tunnels: ${proxy.tunnels.join(", ")}`);
    assert.equal(proxy.count(teleportTarget), before.teleport, "Teleport went direct");
    assert.equal(await daemon.stop(), 0);
  });

  test("no_proxy naming the host bypasses the proxy for both", async (t) => {
    const tunnels = proxy.tunnels.length;
    const daemon = await runWith({
      HTTP_PROXY: proxy.url,
      HTTPS_PROXY: proxy.url,
      no_proxy: "localhost,127.0.0.1",
    });
    t.after(() => daemon.stop());
    assert.equal(proxy.tunnels.length, tunnels, `new tunnels: ${proxy.tunnels.slice(tunnels).join(", ")}`);
    assert.ok(!daemon.messages().some((msg) => msg.includes("reached through the proxy")));
    assert.equal(await daemon.stop(), 0);
  });
});

describe("a forward proxy that refuses to tunnel to Teleport", () => {
  const setup = suiteWorld();
  let refusing: Server;
  let proxyUrl: string;
  before(async () => {
    // As squid answers a CONNECT to a port its ACLs do not allow (e.g. 3025).
    refusing = createServer((socket) => {
      socket.once("data", () => socket.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"));
    });
    await new Promise<void>((resolve) => refusing.listen(0, "127.0.0.1", resolve));
    proxyUrl = `http://127.0.0.1:${(refusing.address() as { port: number }).port}`;
  });
  after(() => refusing.close());

  function env(): NodeJS.ProcessEnv {
    return envWith({ HTTPS_PROXY: proxyUrl, NO_PROXY: new URL(setup.world.mattermost.url).host });
  }

  test("start: the wait names the proxy and NO_PROXY, and every log line stays JSON", async (t) => {
    const { configPath } = await writeDaemonConfig(setup.dir, setup.world);
    const daemon = new DaemonProcess(["start", "-c", configPath], { env: env() });
    t.after(() => daemon.stop());
    const waiting = await daemon.waitForLog(/^Teleport auth server is not reachable yet/);
    assert.match(
      String(waiting["err"]),
      new RegExp(`through the proxy ${proxyUrl} \\(HTTPS_PROXY\\).*NO_PROXY`),
    );
    assert.doesNotMatch(String(waiting["err"]), /Last error: undefined/);
    await daemon.stop();
    assert.deepEqual(
      daemon.lines.filter((line) => line.level === "raw"),
      [],
      "grpc-js wrote outside the log format",
    );
  });

  test("check: the Teleport connection line names the proxy; nothing else is printed", async () => {
    const { configPath } = await writeDaemonConfig(setup.dir, setup.world);
    const result = await runCli(["check", "-c", configPath], { env: env() });
    assert.equal(result.code, 1);
    assert.match(
      result.stdout,
      new RegExp(`✗ Teleport connection: .*through the proxy ${proxyUrl} \\(HTTPS_PROXY\\)`),
    );
    assert.equal(result.stderr, "");
  });
});

describe("Mattermost with a certificate from a company CA", () => {
  let caPem: string;
  const setup = suiteWorld(async () => {
    const ca = await createTestCa("Acme Corp Root CA");
    const cert = await issueCert(ca, { commonName: "mattermost.acme.internal", ipAddresses: ["127.0.0.1"] });
    caPem = ca.certPem;
    return { mattermost: { tls: { cert: cert.certPem, key: cert.keyPem } } };
  });
  let caPath: string;
  before(async () => {
    caPath = await setup.dir.write("acme-ca.pem", caPem);
  });

  const untrusted = () =>
    `Mattermost's certificate at ${setup.world.mattermost.url} is not trusted: unable to verify the first certificate. ` +
    "Set [mattermost] ca_file to the PEM file of the CA that signs it (your company's CA; the usual public CAs stay trusted)";

  test("without [mattermost] ca_file, start says the certificate is not trusted and names the key", async () => {
    const { configPath } = await writeDaemonConfig(setup.dir, setup.world);
    const result = await runCli(["start", "-c", configPath]);
    assert.equal(result.code, 1);
    const errorLine = result.stderr.split("\n").find((line) => line.startsWith("ERROR: "));
    assert.equal(errorLine, `ERROR: Mattermost API health check failed: ${untrusted()}`);
    assert.doesNotMatch(result.stderr, /url and token/);
  });

  test("without [mattermost] ca_file, check says the same on the Mattermost server line", async () => {
    const { configPath } = await writeDaemonConfig(setup.dir, setup.world);
    const result = await runCli(["check", "-c", configPath], { timeoutMs: 30_000 });
    assert.equal(result.code, 1);
    assert.ok(result.stdout.includes(`✗ Mattermost server: ${untrusted()}\n`), result.stdout);
  });

  test("with [mattermost] ca_file the daemon trusts it and posts", async (t) => {
    const { configPath } = await writeDaemonConfig(setup.dir, setup.world, {
      replace: { url: `url = "${setup.world.mattermost.url}"\nca_file = "${caPath}"` },
    });
    const daemon = new DaemonProcess(["start", "-c", configPath]);
    t.after(() => daemon.stop());
    await daemon.waitForLog("Watcher connected");
    await requestIsPosted(setup.world);
    assert.equal(await daemon.stop(), 0);
  });
});

describe("callback client certificates ([http.tls] client_ca_file)", () => {
  const setup = suiteWorld();
  let daemon: DaemonProcess;
  let callbackUrl: string;
  let trusted: { cert: string; key: string };
  let stranger: { cert: string; key: string };
  before(async () => {
    const clientsCa = await createTestCa("Acme Callback Clients CA");
    const otherCa = await createTestCa("Someone Else's CA");
    const good = await issueCert(clientsCa, { commonName: "mattermost-proxy" });
    const bad = await issueCert(otherCa, { commonName: "stranger" });
    trusted = { cert: good.certPem, key: good.keyPem };
    stranger = { cert: bad.certPem, key: bad.keyPem };
    const caPath = await setup.dir.write("clients-ca.pem", clientsCa.certPem);
    const written = await writeDaemonConfig(setup.dir, setup.world, {
      extra: `[http.tls]\nverify_client_cert = true\nclient_ca_file = "${caPath}"`,
    });
    callbackUrl = written.callbackUrl;
    daemon = new DaemonProcess(["start", "-c", written.configPath]);
    await daemon.waitForLog("Watcher connected");
  });
  after(() => daemon?.stop());

  /** POSTs an empty click with `client` as the TLS client certificate; the status or the error code. */
  function click(client: { cert: string; key: string } | undefined): Promise<number | string> {
    return new Promise((resolve) => {
      const body = "{}";
      const request = https.request(
        `${callbackUrl}/mattermost_action`,
        {
          method: "POST",
          rejectUnauthorized: false,
          headers: { "Content-Type": "application/json", "Content-Length": body.length },
          timeout: 10_000,
          ...(client ?? {}),
        },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      request.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
      request.end(body);
    });
  }

  test("a client certificate from client_ca_file is served", async () => {
    assert.equal(await click(trusted), 200);
  });

  test("a certificate from another CA is refused, and the log names client_ca_file", async () => {
    assert.notEqual(await click(stranger), 200);
    const line = await daemon.waitForLog(/^Callback refused: the client's TLS certificate/);
    assert.equal(
      line.msg,
      "Callback refused: the client's TLS certificate (CN=stranger) is not trusted: unable to verify the first certificate. " +
        "Set [http.tls] client_ca_file to the PEM file of the CA that signs the client certificates",
    );
  });

  test("no certificate is refused, and the log says verify_client_cert requires one", async () => {
    assert.notEqual(await click(undefined), 200);
    const line = await daemon.waitForLog(/^Callback refused: the client presented no TLS certificate/);
    assert.match(line.msg, /\[http\.tls\] verify_client_cert requires one/);
  });
});
