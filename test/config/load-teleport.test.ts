/**
 * [teleport]: the auth server's address, the identity (three TLS files or one identity file),
 * refreshing it, and the settings that must or must not go together
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertError, BASE, CONFIG_PATH, lineOf, load, loadError } from "../support/config-load.js";

describe("loadConfig: [teleport]", () => {
  it("defaults addr to localhost:3025 and resolves relative paths from the config's folder", async () => {
    const text = BASE.replace('addr = "teleport.example.com:3025"\n', "")
      .replace('"/var/lib/tm/auth.key"', '"auth.key"')
      .replace('"/var/lib/tm/auth.crt"', '"./certs/auth.crt"')
      .replace('"/var/lib/tm/auth.cas"', '"../shared/auth.cas"');
    const { config } = await load(`${text}\n[log]\noutput = "logs/daemon.log"\n`);
    assert.equal(config.teleport.addr, "localhost:3025");
    assert.deepEqual(config.teleport.credentials, {
      kind: "tls-files",
      clientKey: "/etc/teleport-mattermost/auth.key",
      clientCrt: "/etc/teleport-mattermost/certs/auth.crt",
      rootCas: "/etc/shared/auth.cas",
    });
    assert.deepEqual(config.log.output, { kind: "file", path: "/etc/teleport-mattermost/logs/daemon.log" });
  });

  it("accepts an identity file instead of the three tls files, with refresh settings", async () => {
    const text = BASE.replace(/client_key.*\nclient_crt.*\nroot_cas.*\n/, "").replace(
      "[teleport]\n",
      '[teleport]\nidentity = "identity"\nrefresh_identity = true\nrefresh_identity_interval = "1h30m"\n',
    );
    const { config, warnings } = await load(text);
    assert.deepEqual(config.teleport.credentials, {
      kind: "identity-file",
      identity: "/etc/teleport-mattermost/identity",
    });
    assert.equal(config.teleport.refreshIdentity, true);
    assert.equal(config.teleport.refreshIdentityIntervalMs, 90 * 60_000);
    assert.deepEqual(warnings, []);
  });

  it("warns when refresh_identity_interval is set without refresh_identity", async () => {
    const text = BASE.replace("[teleport]\n", '[teleport]\nrefresh_identity_interval = "5m"\n');
    const { warnings } = await load(text);
    assert.deepEqual(warnings, [
      `config ${CONFIG_PATH} line 2: teleport.refresh_identity_interval has no effect without refresh_identity = true`,
    ]);
  });

  it("refuses some but not all of client_key, client_crt, root_cas", async () => {
    const text = BASE.replace(/root_cas.*\n/, "");
    assertError(await loadError(text), {
      message:
        "teleport.client_key, teleport.client_crt are set but teleport.root_cas is missing ([teleport] is at line 1)",
      fix: "tctl auth sign --format=tls",
    });
  });

  it("asks for credentials when none are set", async () => {
    const text = BASE.replace(/client_key.*\nclient_crt.*\nroot_cas.*\n/, "");
    assertError(await loadError(text), {
      message:
        "no Teleport credentials: teleport.client_key, teleport.client_crt, teleport.root_cas are not set",
      fix: /tctl auth sign --format=tls --user=access-plugin-mattermost --out=auth --ttl=8760h.*identity/,
    });
  });

  it("refuses identity together with the tls files", async () => {
    const text = BASE.replace("[teleport]\n", '[teleport]\nidentity = "/id"\n');
    assertError(await loadError(text), {
      line: lineOf(text, "client_key"),
      message:
        "teleport.identity and teleport.client_key, teleport.client_crt, teleport.root_cas are both set",
      fix: "not both",
    });
  });

  it("refuses refresh_identity without identity", async () => {
    const text = BASE.replace("[teleport]\n", "[teleport]\nrefresh_identity = true\n");
    assertError(await loadError(text), {
      line: 2,
      message: "teleport.refresh_identity = true needs teleport.identity",
      fix: "tbot",
    });
  });

  it("refuses a bad refresh_identity_interval", async () => {
    for (const [value, message] of [
      ["5 minutes", 'teleport.refresh_identity_interval "5 minutes" is not a duration'],
      ["100ms", 'teleport.refresh_identity_interval "100ms" is shorter than 1s'],
    ]) {
      const text = BASE.replace("[teleport]\n", `[teleport]\nrefresh_identity_interval = "${value}"\n`);
      assertError(await loadError(text), { line: 2, message: message as string, fix: '"1m"' });
    }
  });

  it("refuses addr and auth_server together", async () => {
    const text = BASE.replace("[teleport]\n", '[teleport]\nauth_server = "old:3025"\n');
    assertError(await loadError(text), {
      line: 2,
      message: "teleport.addr is given twice, as `addr` (line 3) and as `auth_server` (line 2)",
      fix: "Keep only `addr`; `auth_server` is its old name",
    });
  });

  it("refuses a teleport.addr that is not host:port", async () => {
    const addr = BASE.replace("teleport.example.com:3025", "https://teleport.example.com:3025");
    assertError(await loadError(addr), {
      line: 2,
      message: 'teleport.addr "https://teleport.example.com:3025" is not a host:port address',
      fix: "without a scheme",
    });
  });
});
