/** The proxy rules both clients share: which variable applies, and what NO_PROXY bypasses. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { proxyFor } from "../../src/lib/proxy-env.js";

const chosen = (target: string, env: NodeJS.ProcessEnv) => {
  const choice = proxyFor(new URL(target), env);
  return choice && `${choice.url.href} ${choice.variable}`;
};

test("https targets take HTTPS_PROXY, then HTTP_PROXY; http targets only HTTP_PROXY; lower case first", () => {
  const both = { HTTPS_PROXY: "http://s:1", HTTP_PROXY: "http://p:2" };
  assert.equal(chosen("https://mm.example.com", both), "http://s:1/ HTTPS_PROXY");
  assert.equal(chosen("http://mm.example.com", both), "http://p:2/ HTTP_PROXY");
  assert.equal(chosen("https://mm.example.com", { HTTP_PROXY: "http://p:2" }), "http://p:2/ HTTP_PROXY");
  assert.equal(chosen("http://mm.example.com", { HTTPS_PROXY: "http://s:1" }), undefined);
  assert.equal(
    chosen("https://mm.example.com", { https_proxy: "http://lower:1", HTTPS_PROXY: "http://upper:1" }),
    "http://lower:1/ https_proxy",
  );
  assert.equal(
    chosen("https://mm.example.com", { HTTPS_PROXY: "proxy:3128" }),
    "http://proxy:3128/ HTTPS_PROXY",
  );
  assert.equal(chosen("https://mm.example.com", {}), undefined);
});

test("NO_PROXY names hosts with their subdomains, optionally a port, or * for all", () => {
  const env = (noProxy: string) => ({ HTTPS_PROXY: "http://s:1", NO_PROXY: noProxy });
  assert.equal(chosen("https://mm.example.com", env("example.com")), undefined);
  assert.equal(chosen("https://mm.example.com", env(".example.com")), undefined);
  assert.equal(chosen("https://mm.example.com", env("*.example.com")), undefined);
  assert.equal(chosen("https://example.com", env(".example.com")), undefined);
  assert.ok(chosen("https://badexample.com", env("example.com")), "not a bare suffix");
  assert.equal(chosen("https://mm.example.com:8065", env("mm.example.com:8065")), undefined);
  assert.ok(chosen("https://mm.example.com", env("mm.example.com:8065")), "other port");
  assert.equal(chosen("https://127.0.0.1:3025", env("localhost, 127.0.0.1")), undefined);
  assert.equal(chosen("https://[::1]:3025", env("::1")), undefined);
  assert.equal(chosen("https://anything", env("*")), undefined);
  assert.equal(
    chosen("https://MM.Example.COM", { HTTPS_PROXY: "http://s:1", no_proxy: "mm.example.com" }),
    undefined,
  );
});

test("a proxy value that is not a URL is refused with the variable's name", () => {
  assert.throws(
    () => proxyFor(new URL("https://mm"), { HTTPS_PROXY: "http://[bad" }),
    /HTTPS_PROXY="http:\/\/\[bad" is not a proxy URL/,
  );
});
