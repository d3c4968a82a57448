/**
 * Access monitoring rules in the stand-in (src/standins/teleport/monitoring-rules.ts, watch.ts):
 * the service on 18.0.0 with Teleport's checks and permissions, its watch events, the tctl-like
 * helpers, and servers from before the resource.
 */
import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { create, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import {
  type CallOptions,
  credentials,
  Metadata,
  makeGenericClientConstructor,
  type ServiceDefinition,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { TELEPORT_SERVER_NAME } from "../../../src/standins/pki.js";
import { AccessMonitoringRulesService } from "../../../src/teleport/gen/teleport/accessmonitoringrules/v1/access_monitoring_rules_service_pb.js";
import { Operation } from "../../../src/teleport/gen/teleport/authservice_pb.js";
import { grpcDefinition } from "../../../src/teleport/grpc-service.js";
import { assertStatus, openStream, setup, TEST_TIMEOUT_MS } from "./support.js";

type Methods = typeof AccessMonitoringRulesService.method;

/** A client of the rules service, built like the daemon's (mTLS, SNI teleport.cluster.local). */
function rulesClient(t: TestContext, addr: string, identity: { crt: string; key: string; cas: string }) {
  const Client = makeGenericClientConstructor(
    grpcDefinition(AccessMonitoringRulesService) as unknown as ServiceDefinition,
    "AccessMonitoringRulesService",
  );
  const client = new Client(
    addr,
    credentials.createSsl(Buffer.from(identity.cas), Buffer.from(identity.key), Buffer.from(identity.crt)),
    { "grpc.ssl_target_name_override": TELEPORT_SERVER_NAME, "grpc.default_authority": TELEPORT_SERVER_NAME },
  );
  t.after(() => client.close());
  return <K extends keyof Methods>(
    method: K,
    request: MessageInitShape<Methods[K]["input"]>,
  ): Promise<MessageShape<Methods[K]["output"]>> =>
    new Promise((resolve, reject) => {
      const invoke = client[method] as (
        request: unknown,
        metadata: Metadata,
        options: CallOptions,
        callback: (error: ServiceError | null, response?: unknown) => void,
      ) => unknown;
      const message = create(AccessMonitoringRulesService.method[method].input, request as never);
      invoke.call(client, message, new Metadata(), { deadline: Date.now() + 5000 }, (error, response) =>
        error ? reject(error) : resolve(response as MessageShape<Methods[K]["output"]>),
      );
    });
}

const RULE = {
  metadata: { name: "dba" },
  spec: {
    subjects: ["access_request"],
    condition: 'access_request.spec.roles.contains("dba")',
    notification: { name: "mattermost", recipients: ["acme/dba"] },
  },
};

test("18.0.0 serves the rules: list a page at a time, get, create; Teleport's checks", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const { standin, identity } = await setup(t, { version: "18.0.0" });
  const call = rulesClient(t, standin.addr, identity);
  for (const name of ["c", "a", "b"]) standin.createMonitoringRule({ ...RULE, metadata: { name } });
  const first = await call("listAccessMonitoringRules", { pageSize: 2n });
  assert.deepEqual(
    first.rules.map((rule) => rule.metadata?.name),
    ["a", "b"],
  );
  const second = await call("listAccessMonitoringRules", { pageSize: 2n, pageToken: first.nextPageToken });
  assert.deepEqual([second.rules.map((rule) => rule.metadata?.name), second.nextPageToken], [["c"], ""]);
  const got = await call("getAccessMonitoringRule", { name: "a" });
  assert.equal(got.kind, "access_monitoring_rule");
  assert.equal(got.spec?.notification?.recipients[0], "acme/dba");
  assert.notEqual(got.metadata?.revision, "");

  // The plugin's role may list and read, not create.
  await assertStatus(
    call("createAccessMonitoringRule", { rule: { kind: "access_monitoring_rule", version: "v1", ...RULE } }),
    status.PERMISSION_DENIED,
    'access denied to perform action "create" on "access_monitoring_rule"',
  );
  assert.throws(() => standin.createMonitoringRule({ ...RULE, metadata: { name: "a" } }), {
    code: status.ALREADY_EXISTS,
  });
  assert.throws(() => standin.createMonitoringRule({ ...RULE, spec: { ...RULE.spec, condition: "" } }), {
    code: status.INVALID_ARGUMENT,
    details: "accessMonitoringRule condition is missing",
  });
  assert.throws(() => standin.createMonitoringRule({ ...RULE, spec: { ...RULE.spec, subjects: [] } }), {
    details: "accessMonitoringRule subject is missing",
  });
  assert.throws(() => standin.deleteMonitoringRule("nope"), { code: status.NOT_FOUND });
  assert.throws(() => standin.updateMonitoringRule({ ...RULE, metadata: { name: "nope" } }), {
    code: status.NOT_FOUND,
  });

  const admin = rulesClient(t, standin.addr, await standin.issueIdentity("admin", ["Admin"]));
  const created = await admin("createAccessMonitoringRule", {
    rule: { kind: "access_monitoring_rule", version: "v1", ...RULE, metadata: { name: "d" } },
  });
  assert.equal(created.metadata?.name, "d");
  await admin("deleteAccessMonitoringRule", { name: "d" });
  await assertStatus(call("getAccessMonitoringRule", { name: "d" }), status.NOT_FOUND);
});

test("a role without rules on access_monitoring_rule may not list or watch them", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const { standin } = await setup(t, {
    version: "18.0.0",
    roles: { "old-plugin": { accessRequest: ["list", "read", "update"], pluginData: ["update"] } },
  });
  const identity = await standin.issueIdentity("old", ["old-plugin"]);
  await assertStatus(
    rulesClient(t, standin.addr, identity)("listAccessMonitoringRules", {}),
    status.PERMISSION_DENIED,
    'access denied to perform action "read" on "access_monitoring_rule"',
  );
});

test("watching access_monitoring_rule: INIT, a PUT with the rule for every write, DELETE with a header", {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const { standin, client } = await setup(t, { version: "18.0.0" });
  const watch = openStream(t, client, "watchEvents", { kinds: [{ kind: "access_monitoring_rule" }] });
  await watch.received(1);
  standin.createMonitoringRule(RULE);
  standin.updateMonitoringRule({ ...RULE, spec: { ...RULE.spec, condition: "true" } });
  standin.createRequest({ user: "alice", roles: ["dba"] }); // another kind: not delivered
  standin.deleteMonitoringRule("dba");
  const events = await watch.received(4);
  assert.deepEqual(
    events.map((event) => [Operation[event.type], event.resource.case]),
    [
      ["INIT", undefined],
      ["PUT", "accessMonitoringRule"],
      ["PUT", "accessMonitoringRule"],
      ["DELETE", "resourceHeader"],
    ],
  );
  const updated = events[2]?.resource;
  assert.equal(updated?.case === "accessMonitoringRule" && updated.value.spec?.condition, "true");
  const deleted = events[3]?.resource;
  assert.deepEqual(
    deleted?.case === "resourceHeader" && [
      deleted.value.kind,
      deleted.value.version,
      deleted.value.metadata?.name,
    ],
    ["access_monitoring_rule", "v1", "dba"],
  );
});

test("before 16 there is no such service, kind or resource", { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const { standin, client, identity } = await setup(t, { version: "6.2.1" });
  await assertStatus(
    rulesClient(t, standin.addr, identity)("listAccessMonitoringRules", {}),
    status.UNIMPLEMENTED,
    "unknown service teleport.accessmonitoringrules.v1.AccessMonitoringRulesService",
  );
  const watch = openStream(t, client, "watchEvents", { kinds: [{ kind: "access_monitoring_rule" }] });
  assert.equal((await watch.ended).code, status.INVALID_ARGUMENT);
  assert.throws(() => standin.createMonitoringRule(RULE), {
    code: status.UNIMPLEMENTED,
    details: "access monitoring rules do not exist in Teleport 6.2.1",
  });
});
