/**
 * Where the demo page listens. Tests bind loopback only, so the warning for a page other
 * machines can reach is checked here, where the decision is made; demo-cli.test.ts runs the rest.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { exposureWarning, isLoopback, pageUrl, parsePort } from "../../src/demo/listen.js";

test("--port: 0 to 65535, anything else refused with the fix", () => {
  assert.equal(parsePort("8080"), 8080);
  assert.equal(parsePort("0"), 0);
  assert.equal(parsePort(" 65535 "), 65535);
  for (const bad of ["", "abc", "65536", "8080.5", "-1", "1e3", "0x50"]) {
    assert.throws(() => parsePort(bad), /is not a port number/, bad);
  }
});

test("beyond loopback the page warns; on loopback it does not", () => {
  for (const host of ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "LOCALHOST"]) {
    assert.equal(isLoopback(host), true, host);
    assert.equal(exposureWarning(host, 8080), undefined, host);
  }
  for (const host of ["0.0.0.0", "::", "192.168.1.10", "demo.example.com"]) {
    assert.equal(isLoopback(host), false, host);
  }
  assert.equal(
    exposureWarning("0.0.0.0", 8080),
    "The demo page on 0.0.0.0:8080 can be reached from other machines: anyone who reaches it can create, approve and deny the demo's requests. It runs only stand-ins (no real Teleport or Mattermost); use --host 127.0.0.1 to keep it on this host",
  );
});

test("the URL to open: IPv6 in brackets, every-interface addresses as localhost", () => {
  assert.equal(pageUrl("127.0.0.1", 8080), "http://127.0.0.1:8080/");
  assert.equal(pageUrl("::1", 8080), "http://[::1]:8080/");
  assert.equal(pageUrl("0.0.0.0", 8080), "http://localhost:8080/");
  assert.equal(pageUrl("::", 8080), "http://localhost:8080/");
  assert.equal(pageUrl("demo.example.com", 80), "http://demo.example.com:80/");
});
