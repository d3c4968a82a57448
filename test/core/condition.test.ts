/**
 * Access monitoring rule conditions (src/core/condition-syntax.ts, condition.ts): the examples of
 * Teleport's Access Monitoring Rule reference and the plugins' variables, and the conditions
 * Teleport's typical parser refuses, refused here with the reason.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type ConditionEnv, compileCondition } from "../../src/core/condition.js";
import { isAppError } from "../../src/errors.js";
import { seededRandom } from "../support/generate.js";

const env: ConditionEnv = {
  roles: ["access", "dba"],
  suggestedReviewers: ["bob"],
  user: "alice",
  requestReason: "fix prod",
  systemAnnotations: { pagerduty_services: ["db-oncall"] },
  requestedResources: 2,
  traits: { team: ["dev", "sre"], "github-teams": ["platform"] },
};

function matches(condition: string, over: Partial<ConditionEnv> = {}): boolean {
  return compileCondition(condition).evaluate({ ...env, ...over });
}

function refused(condition: string, reason: RegExp): void {
  assert.throws(
    () => compileCondition(condition),
    (error: unknown) => {
      assert.ok(isAppError(error), `an AppError for ${JSON.stringify(condition)}`);
      assert.match(error.message, reason, JSON.stringify(condition));
      return true;
    },
  );
}

test("the examples of Teleport's Access Monitoring Rule reference", () => {
  assert.equal(matches("!is_empty(access_request.spec.roles)"), true);
  assert.equal(matches("!is_empty(access_request.spec.roles)", { roles: [] }), false);
  assert.equal(matches('access_request.spec.user == "alice"'), true);
  assert.equal(matches('access_request.spec.user == "example_user"'), false);
  assert.equal(matches('access_request.spec.roles.contains("dba")'), true);
  assert.equal(matches('access_request.spec.roles.contains("root")'), false);
  assert.equal(matches('set("access", "dba").contains_all(access_request.spec.roles)'), true);
  assert.equal(matches('set("access").contains_all(access_request.spec.roles)'), false);
  assert.equal(matches('contains_any(user.traits["team"], set("dev", "stage"))'), true);
  assert.equal(matches('contains_any(user.traits["team"], set("stage"))'), false);
  assert.equal(matches('contains_any(access_request.spec.roles, set("access"))'), true);
  const multiLine =
    'contains_all(set("access", "dba"), access_request.spec.roles) &&\n  contains_any(user.traits["team"], set("sre"))\n';
  assert.equal(matches(multiLine), true);
  assert.equal(matches(multiLine, { traits: {} }), false);
});

test("every variable the plugins give conditions", () => {
  assert.equal(matches('access_request.spec.suggested_reviewers.contains("bob")'), true);
  assert.equal(matches('access_request.spec.request_reason != ""'), true);
  assert.equal(
    matches('access_request.spec.system_annotations["pagerduty_services"].contains("db-oncall")'),
    true,
  );
  assert.equal(matches("access_request.spec.requested_resources.length == 2"), true);
  assert.equal(
    matches("access_request.spec.requested_resources.length == 0", { requestedResources: 0 }),
    true,
  );
  // map.key is map["key"]; a missing key is the empty set.
  assert.equal(matches('user.traits.team.contains("sre")'), true);
  assert.equal(matches('user.traits["github-teams"].contains("platform")'), true);
  assert.equal(matches('is_empty(user.traits["nope"])'), true);
  assert.equal(matches("true && !false"), true);
});

test("functions and methods on sets, as lib/expression defines them", () => {
  assert.equal(matches("contains_all(access_request.spec.roles, set())"), false, "all of nothing is false");
  assert.equal(matches('union(set("a"), access_request.spec.roles).contains("a")'), true);
  assert.equal(matches('access_request.spec.roles.add("x", "y").contains("y")'), true);
  assert.equal(matches("access_request.spec.roles.isempty()", { roles: [] }), true);
  assert.equal(matches('user.traits["team"].contains_any(set("sre"))'), true);
  assert.equal(matches('(access_request.spec.roles).contains("dba")'), true);
});

test("operators: ! binds tighter than ==, == than &&, && than ||", () => {
  assert.equal(matches("true || false && false"), true);
  assert.equal(matches("(true || false) && false"), false);
  assert.equal(matches('!(access_request.spec.user == "bob")'), true);
  assert.equal(matches('access_request.spec.user != "bob" && !is_empty(access_request.spec.roles)'), true);
});

test("Go string literals: escapes and raw strings", () => {
  assert.equal(matches('access_request.spec.user == "\\x61\\u006cice"'), true);
  assert.equal(matches("access_request.spec.user == `alice`"), true);
  assert.equal(
    matches('access_request.spec.request_reason == "fix\\tprod"', { requestReason: "fix\tprod" }),
    true,
  );
  assert.equal(matches('access_request.spec.user == "\\U0001F600"', { user: "😀" }), true);
  assert.equal(matches('access_request.spec.user == "\\141lice"'), true);
  refused('access_request.spec.user == "\\q"', /invalid escape/);
  refused('access_request.spec.user == "\\xff"', /non-ASCII byte escape/);
  refused('access_request.spec.user == "\\ud800"', /invalid escape/);
  refused('access_request.spec.user == "alice', /string literal not terminated/);
});

test("what Teleport's parser refuses is refused, saying why", () => {
  refused("", /empty expression/);
  refused('access_request.spec.roles.contains("a") &&', /expected a value, found the end/);
  refused('(access_request.spec.user == "a"', /expected \)/);
  refused('access_request.spec.user\n== "a"', /expected the end of the expression, found "=="/);
  refused('(access_request.spec.user\n== "a")', /expected \), found a new line/);
  refused('access_request.spec.user < "b"', /operator < is not supported/);
  refused("access_request.spec.user == 'a'", /unexpected character "'"/);
  refused("access_request.spec.requested_resources.length == 0x2", /only decimal integers/);
  refused(
    'contains_any(access_request.spec.roles, "dev")',
    /argument 2 to function \(contains_any\): expected type set, got expression returning type string/,
  );
  refused("is_empty()", /function \(is_empty\) accepts 1 arguments, given 0/);
  refused("access_request.spec.roles == set()", /operator \(==\) not supported for type: set/);
  refused("true == true", /operator \(==\) not supported for type: bool/);
  refused('access_request.spec.requested_resources.length == "2"', /expected type int/);
  refused("access_request.spec.user", /the condition is a string, not a boolean/);
  refused('access_request.spec.resource_labels_union["env"].contains("prod")', /unknown identifier/);
  refused(
    'has_labels(access_request.spec.requested_resources, "env", "dev")',
    /unsupported function: has_labels/,
  );
  refused('strings.upper(access_request.spec.user) == "ALICE"', /unsupported function: strings.upper/);
  refused('access_request.spec.roles.nope("a")', /unsupported function: access_request.spec.roles.nope/);
  refused('user.traits.contains("a")', /expected type set, got expression returning type dict/);
  refused('access_request.spec.roles["a"]', /cannot take index of unexpected type set/);
  refused("access_request.spec.roles.", /expected a method name/);
  refused('set("a",)', /expected a value/);
});

test("only conditions that read user.traits ask for the user", () => {
  assert.equal(compileCondition('user.traits["team"].contains("a")').usesTraits, true);
  assert.equal(compileCondition('user.traits.team.contains("a")').usesTraits, true);
  assert.equal(compileCondition('access_request.spec.roles.contains("a")').usesTraits, false);
});

test("any text compiles or is refused with an AppError, never anything else", () => {
  const pieces = [
    "access_request.spec.roles",
    "user.traits",
    '"a"',
    "`b`",
    "1",
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
    "!",
    "&&",
    "||",
    "==",
    "!=",
    "set",
    "contains_any",
    "contains",
    "is_empty",
    "\n",
    " ",
    "\\",
    '"',
    "/*",
    "*/",
    "//",
    "é",
    "<",
  ];
  const random = seededRandom(15);
  for (let i = 0; i < 3000; i++) {
    const text = Array.from(
      { length: 1 + Math.floor(random() * 12) },
      () => pieces[Math.floor(random() * pieces.length)],
    ).join("");
    try {
      const compiled = compileCondition(text);
      assert.equal(typeof compiled.evaluate(env), "boolean");
    } catch (error) {
      assert.ok(isAppError(error, "TELEPORT"), `${JSON.stringify(text)} threw ${String(error)}`);
    }
  }
});
