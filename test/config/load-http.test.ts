/**
 * [http] and [health]: the callback server's listen and public addresses, basic auth, its TLS
 * files and client certificates ([http.tls]), --insecure-no-tls, and the health listener
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createTestCa, issueCert } from "../support/certs.js";
import {
  assertError,
  BASE,
  diskError,
  lineOf,
  load,
  loadError,
  loadFromDisk,
} from "../support/config-load.js";
import { makeTempDir, type TempDir } from "../support/temp-dir.js";

describe("loadConfig: [http] addresses and basic auth", () => {
  it("parses listen_addr forms and keeps a public_addr path without its trailing slash", async () => {
    for (const [listen, expected] of [
      ["127.0.0.1:9000", { host: "127.0.0.1", port: 9000 }],
      ["[::1]:9000", { host: "::1", port: 9000 }],
      ["callback.internal:9000", { host: "callback.internal", port: 9000 }],
    ] as const) {
      const { config } = await load(BASE.replace('8081"\n', `8081/mm/"\nlisten_addr = "${listen}"\n`));
      assert.deepEqual(config.http.listen, expected);
      assert.equal(config.http.publicUrl, "https://callback.example.com:8081/mm");
    }
  });

  it("refuses listen_addr port 0: a random port that public_addr cannot name", async () => {
    const error = await loadError(BASE.replace('8081"\n', '8081"\nlisten_addr = "127.0.0.1:0"\n'));
    assert.match(error.message, /http\.listen_addr "127\.0\.0\.1:0" .*port outside 1–65535/);
    assert.match(error.fix ?? "", /public_addr/);
  });

  it("warns when public_addr says https:// while --insecure-no-tls serves plain HTTP", async () => {
    const { warnings } = await load(BASE.replace('"callback', '"https://callback'), { insecureNoTls: true });
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0] as string,
      /public_addr .* uses https:\/\/ but --insecure-no-tls serves plain HTTP/,
    );
  });

  it("uses http:// for a public_addr without scheme under --insecure-no-tls", async () => {
    const { config, warnings } = await load(BASE, { insecureNoTls: true });
    assert.equal(config.http.publicUrl, "http://callback.example.com:8081");
    assert.equal(config.http.insecureNoTls, true);
    assert.deepEqual(warnings, []);
  });

  it("warns when public_addr says http:// while the callback server serves HTTPS", async () => {
    const { config, warnings } = await load(BASE.replace('"callback', '"http://callback'));
    assert.equal(config.http.publicUrl, "http://callback.example.com:8081");
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0] as string,
      /line 15: http\.public_addr .* uses http:\/\/ but the callback server serves HTTPS/,
    );
  });

  it("turns user:password@ in public_addr into basic auth", async () => {
    const { config } = await load(BASE.replace('"callback', '"https://mm:p%40ss@callback'));
    assert.deepEqual(config.http.basicAuth, { user: "mm", password: "p@ss" });
    assert.equal(config.http.publicUrl, "https://callback.example.com:8081");
  });

  it("reads [http.basic_auth] and [http.tls]", async () => {
    const text = `${BASE}\n[http.basic_auth]\nuser = "mm"\npassword = "pw"\n\n[http.tls]\nverify_client_cert = true\n`;
    const { config } = await load(text);
    assert.deepEqual(config.http.basicAuth, { user: "mm", password: "pw" });
    assert.equal(config.http.verifyClientCert, true);
  });

  it("refuses a public_addr with another scheme", async () => {
    const text = BASE.replace('"callback', '"ftp://callback');
    assertError(await loadError(text), {
      line: 15,
      message: "has scheme ftp; only http and https work",
      fix: "host[:port]",
    });
  });

  it("refuses public_addr given under two spellings", async () => {
    const text = BASE.replace(
      "[http]\n",
      '[http]\nhost = "a.example.com"\nbase-url = "https://b.example.com"\n',
    );
    assertError(await loadError(text), {
      line: lineOf(text, "host ="),
      message:
        "http.public_addr is given twice, as `public_addr` (line 17) and as `host` (line 15) and as `base-url` (line 16)",
      fix: "`host` and `base-url` are its old names",
    });
  });

  it("refuses a basic_auth password without user", async () => {
    const text = `${BASE}\n[http.basic_auth]\npassword = "pw"\n`;
    assertError(await loadError(text), {
      line: lineOf(text, "password"),
      message: "http.basic_auth.password is set but http.basic_auth.user is not",
      fix: "Add user",
    });
  });

  it("refuses credentials in public_addr together with [http.basic_auth]", async () => {
    const text = `${BASE.replace('"callback', '"u:p@callback')}\n[http.basic_auth]\nuser = "mm"\n`;
    assertError(await loadError(text), {
      line: 15,
      message: "http.public_addr carries user:password and [http.basic_auth] is set too",
      fix: "Keep only one of them",
    });
  });

  it("refuses https_key_file without https_cert_file", async () => {
    const text = BASE.replace("[http]\n", '[http]\nhttps_key_file = "/k.pem"\n');
    assertError(await loadError(text), {
      line: 15,
      message: "http.https_key_file is set but http.https_cert_file is not",
      fix: "self-signed",
    });
  });

  it("refuses an http.listen_addr that is not host:port", async () => {
    const listen = `${BASE}listen_addr = "8081"\n`;
    assertError(await loadError(listen), {
      line: 16,
      message: 'http.listen_addr "8081" is not a host:port address',
      fix: '":8081"',
    });
  });
});

describe("loadConfig: TLS files ([http], [mattermost] ca_file)", () => {
  let temp: TempDir;
  let serverCert: { certPem: string; keyPem: string };
  let otherKeyPem: string;

  before(async () => {
    temp = await makeTempDir();
    const ca = await createTestCa("callback-ca");
    serverCert = await issueCert(ca, {
      commonName: "callback.example.com",
      dnsNames: ["callback.example.com"],
    });
    otherKeyPem = (await issueCert(ca, { commonName: "other" })).keyPem;
  });
  after(() => temp.remove());

  it("checks the callback server's key and certificate files", async () => {
    await temp.write("server.crt", serverCert.certPem);
    await temp.write("server.key", serverCert.keyPem);
    const text = BASE.replace(
      "[http]\n",
      '[http]\nhttps_key_file = "server.key"\nhttps_cert_file = "server.crt"\n',
    );
    const { config } = await loadFromDisk(temp, text);
    assert.equal(config.http.httpsKeyFile, `${temp.path}/server.key`);
    assert.equal(config.http.httpsCertFile, `${temp.path}/server.crt`);
  });

  it("refuses a key that does not match the certificate", async () => {
    await temp.write("server.crt", serverCert.certPem);
    await temp.write("other.key", otherKeyPem);
    const text = BASE.replace(
      "[http]\n",
      '[http]\nhttps_key_file = "other.key"\nhttps_cert_file = "server.crt"\n',
    );
    const error = await diskError(temp, text);
    assert.equal(
      error.message,
      `config ${temp.path}/config.toml line 15: http.https_key_file ${temp.path}/other.key does not match the certificate in http.https_cert_file ${temp.path}/server.crt`,
    );
    assert.match(error.fix ?? "", /the key the certificate was issued for/);
  });

  it("refuses missing and unparsable callback TLS files, naming the key", async () => {
    await temp.write("server.key", serverCert.keyPem);
    await temp.write("garbage.crt", "not a certificate\n");
    await temp.write("broken.crt", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    const cases: [string, RegExp][] = [
      ["missing.crt", /line 16: http\.https_cert_file: file .*missing\.crt not found$/],
      ["garbage.crt", /line 16: http\.https_cert_file: .*garbage\.crt holds no PEM certificate$/],
      ["broken.crt", /line 16: http\.https_cert_file: .*broken\.crt holds a certificate that does not parse/],
    ];
    for (const [file, message] of cases) {
      const text = BASE.replace(
        "[http]\n",
        `[http]\nhttps_key_file = "server.key"\nhttps_cert_file = "${file}"\n`,
      );
      const error = await diskError(temp, text);
      assert.match(error.message, message);
      assert.ok(error.fix);
    }
    await temp.write("server.crt", serverCert.certPem);
    const badKey = BASE.replace(
      "[http]\n",
      '[http]\nhttps_key_file = "garbage.crt"\nhttps_cert_file = "server.crt"\n',
    );
    assert.match(
      (await diskError(temp, badKey)).message,
      /line 15: http\.https_key_file: .*garbage\.crt holds no PEM private key$/,
    );
  });

  it("ignores the TLS files with a warning under --insecure-no-tls", async () => {
    const text = BASE.replace(
      "[http]\n",
      '[http]\nhttps_key_file = "nope.key"\nhttps_cert_file = "nope.crt"\n',
    );
    const { config, warnings } = await loadFromDisk(temp, text, { insecureNoTls: true });
    assert.equal(config.http.httpsCertFile, undefined);
    assert.match(
      warnings[0] as string,
      /line 15: http\.https_key_file and http\.https_cert_file are ignored with --insecure-no-tls/,
    );
  });

  it("checks client_ca_file and warns when verify_client_cert is off", async () => {
    await temp.write("client-ca.pem", serverCert.certPem);
    const on = `${BASE}\n[http.tls]\nverify_client_cert = true\nclient_ca_file = "client-ca.pem"\n`;
    const { config, warnings } = await loadFromDisk(temp, on);
    assert.equal(config.http.clientCaFile, `${temp.path}/client-ca.pem`);
    assert.deepEqual(warnings, []);
    const off = `${BASE}\n[http.tls]\nclient_ca_file = "client-ca.pem"\n`;
    const loaded = await loadFromDisk(temp, off);
    assert.match(
      loaded.warnings[0] as string,
      /http\.tls\.client_ca_file has no effect without verify_client_cert = true/,
    );
    const missing = `${BASE}\n[http.tls]\nverify_client_cert = true\nclient_ca_file = "none.pem"\n`;
    assert.match(
      (await diskError(temp, missing)).message,
      /line 19: http\.tls\.client_ca_file: file .*none\.pem not found$/,
    );
  });

  it("reads [mattermost] ca_file, naming the key when it is missing or holds no certificate", async () => {
    await temp.write("company-ca.pem", serverCert.certPem);
    const withCa = (file: string) => BASE.replace("[http]", `ca_file = "${file}"\n[http]`);
    const { config, warnings } = await loadFromDisk(temp, withCa("company-ca.pem"));
    assert.equal(config.mattermost.caFile, `${temp.path}/company-ca.pem`);
    assert.deepEqual(warnings, []);
    const missing = await diskError(temp, withCa("none.pem"));
    assert.match(missing.message, /line 14: mattermost\.ca_file: file .*none\.pem not found$/);
    assert.match(missing.fix ?? "", /remove ca_file to trust only the usual public CAs/);
    await temp.write("not-a-cert.pem", "hello\n");
    assert.match(
      (await diskError(temp, withCa("not-a-cert.pem"))).message,
      /mattermost\.ca_file: .*not-a-cert\.pem holds no PEM certificate/,
    );
    const plain = withCa("company-ca.pem").replace("https://mattermost", "http://mattermost");
    assert.match(
      (await loadFromDisk(temp, plain)).warnings[0] as string,
      /mattermost\.ca_file has no effect: mattermost\.url is http:\/\//,
    );
  });
});

describe("loadConfig: [health]", () => {
  it("reads [health] listen_addr, any interface or port 0 included", async () => {
    for (const [listen, expected] of [
      ["127.0.0.1:9102", { host: "127.0.0.1", port: 9102 }],
      [":9102", { host: "", port: 9102 }],
      ["[::1]:0", { host: "::1", port: 0 }],
    ] as const) {
      const { config, warnings } = await load(`${BASE}\n[health]\nlisten_addr = "${listen}"\n`);
      assert.deepEqual(config.health.listen, expected);
      assert.deepEqual(warnings, []);
    }
  });

  it("refuses a health listen_addr that is not host:port, at its line", async () => {
    const text = `${BASE}\n[health]\nlisten_addr = "http://127.0.0.1:8082"\n`;
    assertError(await loadError(text), {
      line: lineOf(text, "http://127.0.0.1:8082"),
      message: 'health.listen_addr "http://127.0.0.1:8082" is not a host:port address',
      fix: '"127.0.0.1:8082"',
    });
  });

  it("refuses a health listener on the callback server's port", async () => {
    for (const [callback, health] of [
      [":8081", "127.0.0.1:8081"],
      ["127.0.0.1:9000", "127.0.0.1:9000"],
      ["127.0.0.1:9000", ":9000"],
    ] as const) {
      const text = `${BASE}listen_addr = "${callback}"\n\n[health]\nlisten_addr = "${health}"\n`;
      assertError(await loadError(text), {
        line: lineOf(text, "[health]") + 1,
        message:
          /health\.listen_addr ".*" uses port \d+, which the callback server \(http\.listen_addr\) listens on/,
        fix: "a port of its own",
      });
    }
    // Different hosts may share a port.
    const apart = `${BASE}listen_addr = "192.0.2.10:9000"\n\n[health]\nlisten_addr = "127.0.0.1:9000"\n`;
    assert.equal((await load(apart)).config.health.listen.port, 9000);
  });
});
