/**
 * The callback server's self-signed certificate: hand-encoded DER, so it is checked the way a
 * TLS client sees it (OpenSSL's parser through node:crypto, and a real handshake).
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { selfSignedCert } from "../../src/callback/self-signed.js";

test("names the given host and every alternative name, as a server certificate valid for a year", async () => {
  const { cert } = await selfSignedCert({
    commonName: "bot.example.com",
    hosts: ["bot.example.com", "localhost", "127.0.0.1", "::1", "fd00::a:1"],
  });
  const x509 = new X509Certificate(cert);
  assert.equal(x509.subject, "CN=bot.example.com");
  assert.equal(x509.issuer, "CN=bot.example.com");
  assert.equal(x509.ca, false);
  assert.equal(x509.checkHost("bot.example.com"), "bot.example.com");
  assert.equal(x509.checkHost("localhost"), "localhost");
  assert.equal(x509.checkIP("127.0.0.1"), "127.0.0.1");
  assert.equal(x509.checkIP("::1"), "::1");
  assert.equal(x509.checkIP("fd00::a:1"), "fd00::a:1");
  assert.equal(x509.checkHost("other.example.com"), undefined);
  assert.deepEqual(x509.keyUsage, ["1.3.6.1.5.5.7.3.1"]);
  assert.ok(x509.verify(x509.publicKey), "signed by its own key");
  assert.equal(x509.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
  const validDays = (Date.parse(x509.validTo) - Date.parse(x509.validFrom)) / 86_400_000;
  assert.ok(validDays > 364 && validDays < 366, `valid for ${validDays} days`);
  assert.ok(Date.parse(x509.validFrom) <= Date.now());
});

test("each certificate has its own key and serial number", async () => {
  const first = await selfSignedCert({ commonName: "a", hosts: ["a"] });
  const second = await selfSignedCert({ commonName: "a", hosts: ["a"] });
  assert.notEqual(first.key, second.key);
  assert.notEqual(
    new X509Certificate(first.cert).serialNumber,
    new X509Certificate(second.cert).serialNumber,
  );
});

test("dates from 2050 on are GeneralizedTime, as RFC 5280 requires", async () => {
  const { cert } = await selfSignedCert({ commonName: "a", hosts: ["a"], days: 365 * 40 });
  assert.ok(new Date(new X509Certificate(cert).validTo).getUTCFullYear() >= 2050);
});

test("a TLS client that trusts the certificate completes a handshake with a server using it", async () => {
  const { cert, key } = await selfSignedCert({ commonName: "127.0.0.1", hosts: ["127.0.0.1", "localhost"] });
  const server = https.createServer({ cert, key }, (_req, res) => res.end("ok"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get({ host: "127.0.0.1", port, ca: cert, agent: false }, (res) => {
          let text = "";
          res.on("data", (chunk: Buffer) => (text += chunk.toString()));
          res.on("end", () => resolve(text));
        })
        .on("error", reject);
    });
    assert.equal(body, "ok");
  } finally {
    server.close();
  }
});
