/**
 * The "untrusted" outgoing client (MATTERMOST-API.md §4 "Which URLs Mattermost may call";
 * src/standins/mattermost/outgoing.ts, address-filter.ts): loopback callbacks refused unless
 * AllowedUntrustedInternalConnections allows them, TLS verification of callbacks, and the stand-in
 * itself over HTTPS.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes, sign, X509Certificate } from "node:crypto";
import { request as httpsRequest } from "node:https";
import { test } from "node:test";
import { MattermostStandin, type MattermostStandinOptions } from "../../../src/standins/mattermost/index.js";
import {
  allLogs,
  type Json,
  postButtons,
  setup,
  startIntegration,
  TEST_TIMEOUT_MS,
  testRequestsMatchSpec,
} from "./fixture.js";

/** A self-signed ECDSA certificate for 127.0.0.1/localhost, DER-encoded by hand (no openssl, no x509 library). */
function selfSignedCert(): { cert: string; key: string } {
  const der = (tag: number, ...parts: Buffer[]) => {
    const body = Buffer.concat(parts);
    let length: Buffer;
    if (body.length < 128) {
      length = Buffer.from([body.length]);
    } else {
      const bytes: number[] = [];
      for (let n = body.length; n > 0; n >>= 8) bytes.unshift(n & 0xff);
      length = Buffer.from([0x80 | bytes.length, ...bytes]);
    }
    return Buffer.concat([Buffer.from([tag]), length, body]);
  };
  const seq = (...parts: Buffer[]) => der(0x30, ...parts);
  const oid = (dotted: string) => {
    const [a = 0, b = 0, ...rest] = dotted.split(".").map(Number);
    const out = [40 * a + b];
    for (const n of rest) {
      const chunk = [n & 0x7f];
      for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
      out.push(...chunk);
    }
    return der(0x06, Buffer.from(out));
  };
  const integer = (bytes: Buffer) =>
    der(0x02, (bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
  const time = (d: Date) => der(0x17, Buffer.from(`${d.toISOString().slice(2, 19).replace(/[-:T]/g, "")}Z`));
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const algorithm = seq(oid("1.2.840.10045.4.3.2"));
  const name = seq(der(0x31, seq(oid("2.5.4.3"), der(0x0c, Buffer.from("localhost")))));
  const now = Date.now();
  const extensions = der(
    0xa3,
    seq(
      seq(oid("2.5.29.19"), der(0x01, Buffer.from([0xff])), der(0x04, seq(der(0x01, Buffer.from([0xff]))))),
      seq(
        oid("2.5.29.17"),
        der(0x04, seq(der(0x82, Buffer.from("localhost")), der(0x87, Buffer.from([127, 0, 0, 1])))),
      ),
    ),
  );
  const tbs = seq(
    der(0xa0, integer(Buffer.from([2]))),
    integer(randomBytes(8)),
    algorithm,
    name,
    seq(time(new Date(now - 60_000)), time(new Date(now + 86_400_000))),
    name,
    publicKey.export({ type: "spki", format: "der" }),
    extensions,
  );
  const certificate = seq(
    tbs,
    algorithm,
    der(0x03, Buffer.concat([Buffer.from([0]), sign("sha256", tbs, privateKey)])),
  );
  const pem = `-----BEGIN CERTIFICATE-----\n${certificate
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .trimEnd()}\n-----END CERTIFICATE-----\n`;
  new X509Certificate(pem); // throws if the encoding is wrong
  return { cert: pem, key: privateKey.export({ type: "pkcs8", format: "pem" }).toString() };
}

// ---------------------------------------------------------------------------------------------

test("callback URLs on loopback are refused unless AllowedUntrustedInternalConnections allows them", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const integration = await startIntegration(t);
  const port = new URL(integration.origin).port;
  const cases: [MattermostStandinOptions["allowedUntrustedInternalConnections"], string, number][] = [
    [[], integration.url, 400],
    [["localhost"], integration.url, 400],
    [["127.0.0.1"], integration.url, 200],
    ["localhost 10.0.0.0/8, 127.0.0.0/8", `http://localhost:${port}/mattermost/action`, 200],
    [["localhost"], `http://localhost:${port}/mattermost/action`, 200],
    [["::1"], `http://localhost:${port}/mattermost/action`, 400],
  ];
  for (const [allowed, url, status] of cases) {
    const f = await setup(t, { allowedUntrustedInternalConnections: allowed, enableDeveloper: true });
    const post = await postButtons(f, url);
    const before = integration.received.length;
    const res = await f.mm.clickAction(f.aliceToken, post.id, "approve");
    assert.equal(res.status, status, `${JSON.stringify(allowed)} ${url}: ${res.text}`);
    if (status === 400) {
      assert.match((res.body as Json).detailed_error, /address forbidden/);
      assert.equal(integration.received.length, before, "nothing reached the integration");
    }
  }
});

test("TLS callbacks: verified against the CA list unless insecure outgoing connections are enabled", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const tls = selfSignedCert();
  const integration = await startIntegration(t, () => ({ body: {} }), tls);
  const cases: [MattermostStandinOptions, number][] = [
    [{}, 400],
    [{ outgoingCa: [tls.cert] }, 200],
    [{ insecureOutgoingConnections: true }, 200],
  ];
  for (const [options, status] of cases) {
    const f = await setup(t, { ...options, enableDeveloper: true });
    const post = await postButtons(f, integration.url);
    const res = await f.mm.clickAction(f.aliceToken, post.id, "approve");
    assert.equal(res.status, status, `${JSON.stringify(Object.keys(options))}: ${res.text}`);
    if (status === 400) assert.match((res.body as Json).detailed_error, /certificate/);
  }

  // The stand-in itself over HTTPS.
  const secure = await MattermostStandin.start({ tls });
  t.after(() => secure.stop());
  assert.match(secure.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const ping = await new Promise<string>((resolve, reject) => {
    const req = httpsRequest(`${secure.url}/api/v4/system/ping`, { ca: tls.cert }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => {
        text += chunk.toString();
      });
      res.on("end", () => resolve(text));
    });
    req.on("error", reject);
    req.end();
  });
  assert.equal(JSON.parse(ping).status, "OK");
  assert.equal(
    (await secure.request("GET", "/api/v4/system/ping")).status,
    200,
    "the admin helper speaks HTTPS too",
  );
  allLogs.push(secure.requests);
});

testRequestsMatchSpec(15);
