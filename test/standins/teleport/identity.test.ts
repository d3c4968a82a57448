/**
 * Identities: the caller is the certificate's CN with its O values as roles, GetUser, identity
 * files shaped like `tctl auth sign --format=tls` output, and the self-signed certificates the
 * PKI makes for non-Teleport servers (src/standins/teleport/permissions.ts, users.ts, ../pki.ts).
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { status } from "@grpc/grpc-js";
import { selfSignedCert } from "../../../src/standins/pki.js";
import {
  assertStatus,
  connect,
  HOUR_MS,
  PLUGIN_USER,
  setup,
  startStandin,
  TEST_TIMEOUT_MS,
  unary,
} from "./support.js";

test("the caller is the certificate's CN and its roles the O values", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const { standin, client } = await setup(t);
  const requester = connect(t, standin.addr, await standin.issueIdentity("alice", ["requester"]));
  const admin = connect(t, standin.addr, await standin.issueIdentity("root", ["requester", "Admin"]));
  standin.createRequest({ id: "req-alice", user: "alice", roles: ["dba"] });
  standin.createRequest({ id: "req-bob", user: "bob", roles: ["dba"] });

  const all = await unary(client, "getAccessRequests", {});
  assert.deepEqual(
    all.accessRequests.map((r) => r.metadata?.name),
    ["req-alice", "req-bob"],
  );
  // Without list/read a user sees only their own requests.
  const own = await unary(requester, "getAccessRequests", {});
  assert.deepEqual(
    own.accessRequests.map((r) => r.metadata?.name),
    ["req-alice"],
  );
  await assertStatus(
    unary(requester, "deleteAccessRequest", { id: "req-bob" }),
    status.PERMISSION_DENIED,
    'access denied to perform action "delete" on "access_request"',
  );
  await unary(admin, "deleteAccessRequest", { id: "req-bob" });

  assert.deepEqual(
    standin.calls.map(({ method, caller }) => `${caller} ${method}`),
    [
      `${PLUGIN_USER} GetAccessRequests`,
      "alice GetAccessRequests",
      "alice DeleteAccessRequest",
      "root DeleteAccessRequest",
    ],
  );
  assert.equal(standin.audit.at(-1)?.event, "access_request.delete");
  assert.equal(standin.audit.at(-1)?.by, "root");
});

test("GetUser: roles and traits, NOT_FOUND for unknown users, `read` on `user` for anyone else", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const { standin, client } = await setup(t);
  standin.addUser("bob", ["reviewer"], { mattermost_user_id: ["bobid"], logins: ["bob", "root"] });
  const bob = await unary(client, "getUser", { name: "bob" });
  assert.equal(bob.metadata?.name, "bob");
  assert.deepEqual(bob.spec?.roles, ["reviewer"]);
  assert.deepEqual(bob.spec?.traits?.values["mattermost_user_id"]?.values, ["bobid"]);
  await assertStatus(
    unary(client, "getUser", { name: "nobody" }),
    status.NOT_FOUND,
    'user "nobody" is not found',
  );
  const carol = connect(t, standin.addr, await standin.issueIdentity("carol", ["reviewer"]));
  assert.equal((await unary(carol, "getUser", { name: "carol" })).metadata?.name, "carol");
  await assertStatus(
    unary(carol, "getUser", { name: "bob" }),
    status.PERMISSION_DENIED,
    'access denied to perform action "read" on "user"',
  );
});

test("identity files look like tctl auth sign --format=tls output", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const standin = await startStandin(t, { clusterName: "acme.example.com" });
  const dir = await mkdtemp(join(tmpdir(), "standin-identity-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const paths = await standin.writeIdentity(dir, PLUGIN_USER, [PLUGIN_USER, "editor"]);
  assert.deepEqual(paths, {
    crtPath: join(dir, "auth.crt"),
    keyPath: join(dir, "auth.key"),
    casPath: join(dir, "auth.cas"),
  });
  assert.equal((await stat(paths.keyPath)).mode & 0o777, 0o600);

  const cert = new X509Certificate(await readFile(paths.crtPath));
  const hostCa = new X509Certificate(await readFile(paths.casPath));
  const userCa = new X509Certificate(standin.pki.userCa.cert);
  assert.match(cert.subject, /^CN=access-plugin-mattermost$/m);
  assert.match(cert.subject, /O=access-plugin-mattermost \+ O=editor/);
  assert.ok(cert.verify(userCa.publicKey));
  assert.ok(!cert.verify(hostCa.publicKey));
  assert.deepEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
  assert.equal(hostCa.subject, userCa.subject);
  assert.equal(hostCa.subject, "O=acme.example.com\nCN=acme.example.com");
  assert.match(await readFile(paths.keyPath, "utf8"), /^-----BEGIN PRIVATE KEY-----\n/);
});

test("selfSignedCert gives a usable server certificate for non-Teleport servers", {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  const { cert, key } = await selfSignedCert({
    commonName: "callback.local",
    ipAddresses: ["127.0.0.1"],
    days: 2,
  });
  const parsed = new X509Certificate(cert);
  assert.equal(parsed.subject, "CN=callback.local");
  assert.ok(parsed.verify(parsed.publicKey));
  assert.equal(parsed.checkHost("callback.local"), "callback.local");
  assert.equal(parsed.checkIP("127.0.0.1"), "127.0.0.1");
  assert.ok(Date.parse(parsed.validTo) - Date.now() <= 2 * 24 * HOUR_MS + 60_000);
  assert.match(key, /^-----BEGIN PRIVATE KEY-----\n/);
});
