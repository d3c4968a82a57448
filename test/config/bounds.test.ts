import assert from "node:assert/strict";
import { test } from "node:test";
import { checkRecipient } from "../../src/config/bounds.js";
import { checkHostPort } from "../../src/config/host-port.js";
import { channelNameProblem, teamNameProblem, usernameProblem } from "../../src/mattermost/names.js";

test("host:port within DNS and TCP bounds, each problem said", () => {
  assert.deepEqual(checkHostPort("teleport.example.com:3025", { hostRequired: true }), {
    ok: true,
    value: { host: "teleport.example.com", port: 3025 },
  });
  const problem = (text: string, allowPortZero = false) => {
    const checked = checkHostPort(text, { hostRequired: true, allowPortZero });
    return checked.ok ? "ok" : checked.problem;
  };
  assert.match(problem(`${"a".repeat(254)}:1`), /host name of 254 characters; DNS allows at most 253/);
  assert.match(problem(`${"a".repeat(64)}.example.com:1`), /part of 64 characters/);
  assert.match(problem("a:0"), /port outside 1–65535/);
  assert.equal(problem("a:0", true), "ok");
  assert.match(problem("a:65536"), /port outside/);
  assert.match(problem("a:00000000000000000001"), /port outside/);
  assert.match(problem("300.1.1.1:1"), /not an IPv4 address/);
  assert.match(problem("a_b:1"), /not a host name/);
});

test("Mattermost names: what the server accepts, in any case", () => {
  assert.equal(usernameProblem("Alice"), undefined);
  assert.equal(usernameProblem("carol.jones"), undefined);
  assert.match(usernameProblem("a".repeat(65)) ?? "", /1–64/);
  assert.match(usernameProblem("bad name") ?? "", /only letters/);
  assert.equal(teamNameProblem("Acme"), undefined);
  assert.match(teamNameProblem("a") ?? "", /2–64/);
  assert.match(teamNameProblem("acme_team") ?? "", /only letters, digits and '-'/);
  assert.equal(channelNameProblem("access-requests"), undefined);
  assert.match(channelNameProblem("Access Requests") ?? "", /not its display name/);
  assert.deepEqual(checkRecipient("Acme/Security"), { ok: true, value: "acme/security" });
  assert.deepEqual(checkRecipient("@Bob"), { ok: true, value: "bob" });
  assert.deepEqual(checkRecipient("Carol.Jones@Example.org"), { ok: true, value: "carol.jones@example.org" });
  assert.equal(checkRecipient("a/b/c").ok, false);
});
