import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseHostPort } from "../../src/config/host-port.js";

describe("parseHostPort", () => {
  it("reads host:port, bracketed IPv6 and, for listening, a bare :port", () => {
    assert.deepEqual(parseHostPort("localhost:3025", { hostRequired: true }), {
      host: "localhost",
      port: 3025,
    });
    assert.deepEqual(parseHostPort("10.0.0.1:443", { hostRequired: true }), { host: "10.0.0.1", port: 443 });
    assert.deepEqual(parseHostPort("[::1]:3025", { hostRequired: true }), { host: "::1", port: 3025 });
    assert.deepEqual(parseHostPort(":8081", { hostRequired: false }), { host: "", port: 8081 });
  });

  it("refuses schemes, paths, missing or out-of-range ports and a missing required host", () => {
    for (const text of ["https://a:1", "a:1/x", "a", "a:", "a:65536", "a b:1", "::1:3025", "-a:1"]) {
      assert.equal(parseHostPort(text, { hostRequired: false }), undefined, text);
    }
    assert.equal(parseHostPort(":8081", { hostRequired: true }), undefined);
  });
});
