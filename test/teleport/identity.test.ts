import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { AppError } from "../../src/errors.js";
import { nameValues, parseX509Name } from "../../src/lib/x509-name.js";
import {
  certificateDaysLeft,
  type IdentityDeps,
  loadIdentityFile,
  loadTlsIdentity,
  nodeIdentityDeps,
  type TlsFilePaths,
} from "../../src/teleport/identity.js";
import { createTestCa, type IssuedCert, issueCert, TEST_DAY_MS, type TestCa } from "../support/certs.js";
import { makeTempDir, type TempDir } from "../support/temp-dir.js";

const USER = "access-plugin-mattermost";
const ROLES = ["access-plugin", "editor"];
// Certificates are valid for [NOW - 1 day, NOW + 30 days]; tests move `now` to probe the edges.
const NOW = Date.now();
const NOT_BEFORE = new Date(NOW - TEST_DAY_MS);
const NOT_AFTER = new Date(NOW + 30 * TEST_DAY_MS);

const SSH_CERT_LINE = "ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29t\n";
const SSH_CA_LINE =
  "@cert-authority example.com,*.example.com ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC type=host\n";

function at(nowMs: number): IdentityDeps {
  return { ...nodeIdentityDeps, now: () => nowMs };
}

async function credentialsError(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => assert.fail("expected a CREDENTIALS error"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof AppError, String(error));
  assert.equal(error.code, "CREDENTIALS");
  assert.ok(error.fix, "fix is missing");
  return error;
}

describe("loadTlsIdentity", () => {
  let temp: TempDir;
  let hostCa: TestCa;
  let ecCert: IssuedCert;
  let rsaCert: IssuedCert;
  let otherCert: IssuedCert;
  let paths: TlsFilePaths;

  before(async () => {
    temp = await makeTempDir();
    const userCa = await createTestCa("cluster-user-ca");
    hostCa = await createTestCa("cluster-host-ca");
    const validity = { notBefore: NOT_BEFORE, notAfter: NOT_AFTER };
    ecCert = await issueCert(userCa, { commonName: USER, organizations: ROLES, ...validity });
    rsaCert = await issueCert(userCa, {
      commonName: USER,
      organizations: ROLES,
      keyType: "rsa",
      ...validity,
    });
    otherCert = await issueCert(userCa, { commonName: "someone-else", ...validity });
    paths = {
      clientCrt: await temp.write("auth.crt", ecCert.certPem),
      clientKey: await temp.write("auth.key", ecCert.keyPem),
      rootCas: await temp.write("auth.cas", hostCa.certPem),
    };
  });
  after(() => temp.remove());

  it("loads an ECDSA identity (PKCS#8 key) and reads user, roles, validity and fingerprint", async () => {
    const identity = await loadTlsIdentity(paths, at(NOW));
    assert.equal(identity.user, USER);
    assert.deepEqual(identity.roles, ROLES);
    assert.equal(identity.notAfter.getTime(), Math.floor(NOT_AFTER.getTime() / 1000) * 1000);
    assert.equal(identity.notBefore.getTime(), Math.floor(NOT_BEFORE.getTime() / 1000) * 1000);
    assert.equal(identity.fingerprint, new X509Certificate(ecCert.certPem).fingerprint256);
    assert.match(identity.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.equal(identity.cert, ecCert.certPem);
    assert.match(identity.key, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(identity.cas, hostCa.certPem);
    assert.deepEqual(identity.warnings, []);
  });

  it("loads an RSA identity whose key file is PKCS#1 (RSA PRIVATE KEY), as tctl writes it", async () => {
    const rsaPaths = {
      ...paths,
      clientCrt: await temp.write("rsa.crt", rsaCert.certPem),
      clientKey: await temp.write("rsa.key", rsaCert.keyPem),
    };
    const identity = await loadTlsIdentity(rsaPaths, at(NOW));
    assert.match(identity.key, /^-----BEGIN RSA PRIVATE KEY-----\n/);
    assert.equal(identity.user, USER);
  });

  it("keeps every CA of a bundle and ignores text around the PEM blocks", async () => {
    const secondCa = await createTestCa("second-host-ca");
    const rootCas = await temp.write("bundle.cas", `# cluster CAs\n${hostCa.certPem}\n${secondCa.certPem}`);
    const identity = await loadTlsIdentity({ ...paths, rootCas }, at(NOW));
    assert.equal(identity.cas, hostCa.certPem + secondCa.certPem);
  });

  it("names the key and the path of a missing file, and says how to export it", async () => {
    const missing = `${temp.path}/missing.crt`;
    const error = await credentialsError(loadTlsIdentity({ ...paths, clientCrt: missing }, at(NOW)));
    assert.equal(error.message, `teleport.client_crt: file ${missing} not found`);
    assert.match(
      error.fix ?? "",
      /`tctl auth sign --format=tls --user=access-plugin-mattermost --out=auth --ttl=8760h`/,
    );
    assert.deepEqual(error.details, { key: "teleport.client_crt", path: missing });
  });

  it("says when a file is not readable", async () => {
    const deps: IdentityDeps = {
      now: () => NOW,
      readFile: async (path) => {
        if (path === paths.clientKey) throw Object.assign(new Error("EACCES"), { code: "EACCES" });
        return nodeIdentityDeps.readFile(path);
      },
    };
    const error = await credentialsError(loadTlsIdentity(paths, deps));
    assert.equal(error.message, `teleport.client_key: cannot read ${paths.clientKey}: permission denied`);
    assert.match(error.fix ?? "", /chmod 600/);
  });

  it("refuses files without the expected PEM block", async () => {
    const garbage = await temp.write("garbage", "this is not PEM\n");
    const cert = await credentialsError(loadTlsIdentity({ ...paths, clientCrt: garbage }, at(NOW)));
    assert.equal(cert.message, `teleport.client_crt: ${garbage} holds no PEM certificate`);
    const key = await credentialsError(loadTlsIdentity({ ...paths, clientKey: garbage }, at(NOW)));
    assert.equal(key.message, `teleport.client_key: ${garbage} holds no PEM private key`);
    const cas = await credentialsError(loadTlsIdentity({ ...paths, rootCas: garbage }, at(NOW)));
    assert.equal(cas.message, `teleport.root_cas: ${garbage} holds no PEM certificate`);
    assert.match(cas.fix ?? "", /auth\.cas/);
  });

  it("refuses PEM blocks that do not parse", async () => {
    const broken = await temp.write(
      "broken.crt",
      "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    );
    const cert = await credentialsError(loadTlsIdentity({ ...paths, clientCrt: broken }, at(NOW)));
    assert.match(
      cert.message,
      new RegExp(`^teleport\\.client_crt: ${broken} holds a certificate that does not parse`),
    );
    const brokenKey = await temp.write(
      "broken.key",
      "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    const key = await credentialsError(loadTlsIdentity({ ...paths, clientKey: brokenKey }, at(NOW)));
    assert.match(
      key.message,
      new RegExp(`^teleport\\.client_key: ${brokenKey} holds a private key that does not parse`),
    );
  });

  it("refuses a key that does not belong to the certificate", async () => {
    const otherKey = await temp.write("other.key", otherCert.keyPem);
    const error = await credentialsError(loadTlsIdentity({ ...paths, clientKey: otherKey }, at(NOW)));
    assert.equal(
      error.message,
      `teleport.client_key: ${otherKey} does not match the certificate in teleport.client_crt ${paths.clientCrt}`,
    );
    assert.match(error.fix ?? "", /same `tctl auth sign` run/);
  });

  it("refuses an expired certificate, with the tctl command for its user", async () => {
    const later = NOT_AFTER.getTime() + TEST_DAY_MS;
    const error = await credentialsError(loadTlsIdentity(paths, at(later)));
    const expired = new Date(Math.floor(NOT_AFTER.getTime() / 1000) * 1000).toISOString();
    assert.equal(
      error.message,
      `teleport.client_crt: the certificate of user ${USER} in ${paths.clientCrt} expired on ${expired}`,
    );
    assert.match(
      error.fix ?? "",
      /^Export a new one with `tctl auth sign --format=tls --user=access-plugin-mattermost --out=auth --ttl=8760h`/,
    );
  });

  it("refuses a certificate that is not valid yet, pointing at the clock", async () => {
    const earlier = NOT_BEFORE.getTime() - TEST_DAY_MS;
    const error = await credentialsError(loadTlsIdentity(paths, at(earlier)));
    assert.match(
      error.message,
      /^teleport\.client_crt: the certificate of user access-plugin-mattermost in .* is not valid before /,
    );
    assert.match(error.fix ?? "", /Check this machine's clock/);
  });

  it("only warns when the certificate is not issued for client authentication", async () => {
    const userCa = await createTestCa("eku-ca");
    const serverOnly = await issueCert(userCa, {
      commonName: USER,
      extendedKeyUsages: ["1.3.6.1.5.5.7.3.1"],
    });
    const identity = await loadTlsIdentity(
      {
        ...paths,
        clientCrt: await temp.write("server-only.crt", serverOnly.certPem),
        clientKey: await temp.write("server-only.key", serverOnly.keyPem),
      },
      at(NOW),
    );
    assert.equal(identity.warnings.length, 1);
    assert.match(
      identity.warnings[0] as string,
      /^teleport\.client_crt: .* is not issued for client authentication/,
    );
  });
});

describe("loadIdentityFile", () => {
  let temp: TempDir;
  let hostCa: TestCa;
  let cert: IssuedCert;

  before(async () => {
    temp = await makeTempDir();
    const userCa = await createTestCa("cluster-user-ca");
    hostCa = await createTestCa("cluster-host-ca");
    cert = await issueCert(userCa, {
      commonName: USER,
      organizations: ROLES,
      notBefore: NOT_BEFORE,
      notAfter: NOT_AFTER,
    });
  });
  after(() => temp.remove());

  it("reads key, TLS certificate and CAs of a --format=file identity, skipping the SSH lines", async () => {
    const path = await temp.write(
      "identity",
      cert.keyPem + SSH_CERT_LINE + cert.certPem + SSH_CA_LINE + hostCa.certPem,
    );
    const identity = await loadIdentityFile(path, at(NOW));
    assert.equal(identity.user, USER);
    assert.deepEqual(identity.roles, ROLES);
    assert.equal(identity.key, cert.keyPem);
    assert.equal(identity.cert, cert.certPem);
    assert.equal(identity.cas, hostCa.certPem);
  });

  it("refuses a file whose first block is not a private key", async () => {
    const path = await temp.write("reordered", cert.certPem + cert.keyPem + hostCa.certPem);
    const error = await credentialsError(loadIdentityFile(path, at(NOW)));
    assert.equal(
      error.message,
      `teleport.identity: ${path} is not an identity file from \`tctl auth sign --format=file\` (its first PEM block is CERTIFICATE, not a private key)`,
    );
    assert.match(error.fix ?? "", /tctl auth sign --format=file --user=access-plugin-mattermost --out=/);
  });

  it("refuses a file without TLS certificate or without CA", async () => {
    const keyOnly = await temp.write("key-only", cert.keyPem + SSH_CERT_LINE);
    const noCert = await credentialsError(loadIdentityFile(keyOnly, at(NOW)));
    assert.equal(noCert.message, `teleport.identity: ${keyOnly} holds a private key but no TLS certificate`);
    const noCa = await temp.write("no-ca", cert.keyPem + SSH_CERT_LINE + cert.certPem + SSH_CA_LINE);
    const noCaError = await credentialsError(loadIdentityFile(noCa, at(NOW)));
    assert.equal(noCaError.message, `teleport.identity: ${noCa} holds no TLS CA certificate`);
  });

  it("refuses a file without PEM blocks, a missing file and an expired certificate", async () => {
    const empty = await temp.write("empty-identity", SSH_CERT_LINE);
    assert.match((await credentialsError(loadIdentityFile(empty, at(NOW)))).message, /holds no PEM blocks/);
    const missing = `${temp.path}/nope`;
    assert.equal(
      (await credentialsError(loadIdentityFile(missing, at(NOW)))).message,
      `teleport.identity: file ${missing} not found`,
    );
    const path = await temp.write("identity", cert.keyPem + cert.certPem + hostCa.certPem);
    const expired = await credentialsError(loadIdentityFile(path, at(NOT_AFTER.getTime() + TEST_DAY_MS)));
    assert.match(
      expired.message,
      /^teleport\.identity: the certificate of user access-plugin-mattermost in .* expired on /,
    );
    assert.match(
      expired.fix ?? "",
      new RegExp(`tctl auth sign --format=file --user=${USER} --out=${path} --ttl=8760h`),
    );
  });
});

describe("certificateDaysLeft", () => {
  it("counts whole days until notAfter, negative once expired", () => {
    const notAfter = new Date("2026-12-31T00:00:00Z");
    assert.equal(certificateDaysLeft({ notAfter }, Date.parse("2026-12-01T00:00:00Z")), 30);
    assert.equal(certificateDaysLeft({ notAfter }, Date.parse("2026-12-30T12:00:00Z")), 0);
    assert.equal(certificateDaysLeft({ notAfter }, Date.parse("2026-12-31T12:00:00Z")), -1);
  });
});

describe("parseX509Name (the subject text node:crypto prints)", () => {
  it("reads multi-valued RDNs, escapes and UTF-8 hex pairs", () => {
    const subject = parseX509Name(
      "O=editor + O=access\\+x\nOU=a\\, b\nCN=\\C3\\BCser\\0Ax\n1.3.9999.1.7=cluster",
    );
    assert.deepEqual(nameValues(subject, "O"), ["editor", "access+x"]);
    assert.deepEqual(nameValues(subject, "OU"), ["a, b"]);
    assert.deepEqual(nameValues(subject, "CN"), ["\u00fcser\nx"]);
    assert.deepEqual(nameValues(subject, "1.3.9999.1.7"), ["cluster"]);
  });
});
