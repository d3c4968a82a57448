/**
 * Teleport as most clusters run it today: `addr` on the proxy's one HTTPS port. The CLI runs as a
 * child process against the proxy stand-in in front of the Teleport 18 auth stand-in, once with
 * TLS routing and once behind an L7 load balancer (connection upgrade), with a tbot-style
 * identity file renewed while it runs; then the errors an operator meets on the way, and
 * `check` saying which path it found.
 */
import assert from "node:assert/strict";
import { after, before, describe, type TestContext, test } from "node:test";
import { REQUEST_ID_PROP } from "../../src/core/render.js";
import type { StandinPost } from "../../src/standins/mattermost/index.js";
import { createClusterPki, issueUserCert } from "../../src/standins/pki.js";
import {
  TeleportProxyStandin,
  type TeleportProxyStandinOptions,
} from "../../src/standins/teleport-proxy/index.js";
import { RequestState } from "../../src/teleport/gen/teleport/types_pb.js";
import { runCli } from "../support/daemon-process.js";
import { decide } from "../support/decide.js";
import { openStage, Stage } from "../support/stage.js";

const PLUGIN_USER = "access-plugin-mattermost";

/** What `tctl auth sign --format=file` (and tbot) write: key, SSH certificate line, TLS certificate, CAs. */
function identityFile(files: { key: string; crt: string; cas: string }): string {
  return `${files.key}ssh-ed25519-cert-v01@openssh.com AAAAC3NzaC1lZDI1NTE5 ${PLUGIN_USER}\n${files.crt}${files.cas}`;
}

/** Config lines for `addr` on the proxy, with the identity file tbot renews. */
async function proxyConfig(
  stage: Stage,
  proxy: TeleportProxyStandin,
  extra: string[] = [],
): Promise<Record<string, string>> {
  await stage.dir.write("identity", identityFile(stage.world.identity));
  const ca = await stage.dir.write("proxy-ca.pem", proxy.webCaCert);
  return {
    addr: [`addr = "${proxy.addr}"`, `proxy_ca_file = "${ca}"`, ...extra].join("\n"),
    client_key: 'identity = "identity"\nrefresh_identity = true\nrefresh_identity_interval = "1s"',
    client_crt: "",
    root_cas: "",
  };
}

async function startProxy(
  stage: Stage,
  options: Partial<TeleportProxyStandinOptions> = {},
): Promise<TeleportProxyStandin> {
  return TeleportProxyStandin.start({
    authAddr: stage.world.teleport.addr,
    clusterName: stage.world.teleport.clusterName,
    ...options,
  });
}

function rootPost(stage: Stage, requestId: string): StandinPost | undefined {
  return stage.world.mattermost
    .channelPosts(stage.world.channel.id)
    .find((post) => post.props[REQUEST_ID_PROP] === requestId && !post.root_id);
}

async function until<T>(find: () => T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined && found !== false) return found;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

for (const path of ["tls-routing", "upgrade"] as const)
  describe(`the seed flow through the Teleport proxy (${path})`, () => {
    let stage: Stage;
    let proxy: TeleportProxyStandin;
    let daemon: Awaited<ReturnType<Stage["startDaemon"]>>["daemon"];

    before(async () => {
      stage = await Stage.open({ teleportVersion: "18.0.0" });
      proxy = await startProxy(stage, { behindLoadBalancer: path === "upgrade" });
      ({ daemon } = await stage.startDaemon({ args: ["-d"], replace: await proxyConfig(stage, proxy) }));
    });

    after(async () => {
      await stage?.close();
      await proxy?.stop();
    });

    test("starts as the operator's guide says and logs the connection it found", () => {
      const checked = daemon.lines.find((line) => line.msg === "Teleport server version checked");
      assert.equal(checked?.["connection"], path);
      assert.equal(checked?.["server_version"], "18.0.0");
      const found = daemon.lines.find((line) => line.msg === "Teleport connection found");
      assert.match(
        String(found?.["connection"]),
        path === "upgrade" ? /L7 load balancer/ : /reached with TLS routing/,
      );
      assert.ok(
        proxy.routes.length > 0 &&
          proxy.routes.every((route) => route.via === path && route.outcome === "forwarded"),
      );
    });

    test("a request is posted and approved from Mattermost, through the proxy", async () => {
      const { world } = stage;
      const request = world.teleport.createRequest({ user: "alice", roles: ["dba"], reason: `via ${path}` });
      const id = request.metadata!.name;
      const post = await until(() => rootPost(stage, id), "the post");
      const reply = await decide(world, world.approver, post.id, "approve", "on call");
      assert.equal(reply.status, 200, reply.text);
      assert.equal(world.teleport.getRequest(id)?.spec?.state, RequestState.APPROVED);
      await world.teleport.waitFor(
        () => world.teleport.pluginData(id, "mattermost")?.["rendered"] === "APPROVED",
        10_000,
        "rendered APPROVED",
      );
    });

    test("tbot renews the identity file: the daemon reconnects through the proxy on the new certificate", async () => {
      const { world } = stage;
      const routed = proxy.routes.length;
      const renewed = await world.teleport.issueIdentity(PLUGIN_USER, ["access-plugin"]);
      await stage.dir.write("identity", identityFile(renewed));
      await daemon.waitForLog(/The identity file changed/, 10_000);
      await daemon.waitForLog("Reloaded", 20_000);
      const request = world.teleport.createRequest({
        user: "alice",
        roles: ["dba"],
        reason: "after renewal",
      });
      await until(() => rootPost(stage, request.metadata!.name), "the post after renewal");
      assert.ok(proxy.routes.length > routed, "the new connection went through the proxy");
      assert.equal(
        daemon.lines.filter(
          (line) => line.msg === "Teleport server version checked" && line["connection"] === path,
        ).length,
        2,
      );
    });
  });

async function proxyStage(t: TestContext, options: Partial<TeleportProxyStandinOptions> = {}) {
  const stage = await openStage(t, { teleportVersion: "18.0.0" });
  const proxy = await startProxy(stage, options);
  t.after(() => proxy.stop());
  return { stage, proxy };
}

test("an identity from another cluster: the daemon stops and says which cluster the proxy serves", async (t) => {
  const { stage, proxy } = await proxyStage(t);
  const other = await createClusterPki("staging.example.com");
  const stranger = await issueUserCert(other, { user: PLUGIN_USER, roles: ["access-plugin"] });
  const replace = await proxyConfig(stage, proxy);
  await stage.dir.write(
    "identity",
    identityFile({ key: stranger.key, crt: stranger.cert, cas: other.hostCa.cert }),
  );
  const { daemon } = await stage.startDaemon({ replace, waitFor: null });
  assert.notEqual(await daemon.exited, 0);
  const fatal = await daemon.waitForLog(/^Terminating due to error/);
  assert.match(
    fatal.msg,
    /proxy of cluster teleport\.example\.com, but the identity was issued by cluster staging\.example\.com.*Export the plugin's identity from cluster teleport\.example\.com/,
  );
  assert.deepEqual(proxy.routes.at(-1), {
    via: "tls-routing",
    cluster: "staging.example.com",
    outcome: "refused",
  });
});

test("a proxy web certificate this host does not trust: the daemon stops and names proxy_ca_file", async (t) => {
  const { stage, proxy } = await proxyStage(t, { behindLoadBalancer: true });
  const replace = await proxyConfig(stage, proxy);
  replace["addr"] = `addr = "${proxy.addr}"`; // no proxy_ca_file: only Node's public CAs
  const { daemon } = await stage.startDaemon({ replace, waitFor: null });
  assert.notEqual(await daemon.exited, 0);
  const fatal = await daemon.waitForLog(/^Terminating due to error/);
  assert.match(
    fatal.msg,
    /web certificate of the proxy at 127\.0\.0\.1:\d+ is not trusted here .*\[teleport\] proxy_ca_file/,
  );
  assert.equal(proxy.routes.length, 0, "nothing reached the auth server");
});

test("check reports the connection it found: TLS routing, or the upgrade behind a load balancer", async (t) => {
  for (const behindLoadBalancer of [false, true]) {
    const { stage, proxy } = await proxyStage(t, { behindLoadBalancer });
    const { configPath } = await stage.writeConfig({ replace: await proxyConfig(stage, proxy) });
    const result = await runCli(["check", "-c", configPath], { timeoutMs: 30_000 });
    const line = result.stdout.split("\n").find((text) => text.startsWith("✓ Teleport connection: "));
    assert.ok(line, result.stdout);
    assert.match(
      line,
      behindLoadBalancer
        ? /is the Teleport proxy of cluster teleport\.example\.com, behind something that ends TLS .*connection upgrade \(tried first: direct to an auth server: .*; TLS routing through the proxy: /
        : /is the Teleport proxy of cluster teleport\.example\.com; the auth server .* TLS routing \(tried first: direct to an auth server: the certificate presented is not from the cluster's host CA/,
    );
    assert.match(result.stdout, /✓ Teleport auth server: .*Teleport 18\.0\.0/);
  }
});
