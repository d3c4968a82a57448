/**
 * Access monitoring rules as the plugin reads them off the wire (src/teleport/monitoring-rules.ts):
 * the fields routing uses, and spec fields newer than our proto subset noticed rather than lost;
 * and what a condition sees of an access request read off the wire.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { compileCondition } from "../../src/core/condition.js";
import { conditionEnv } from "../../src/core/monitoring-rules.js";
import { accessRequestFromProto } from "../../src/teleport/convert.js";
import { AccessMonitoringRuleSchema } from "../../src/teleport/gen/teleport/accessmonitoringrules/v1/access_monitoring_rules_pb.js";
import { AccessRequestV3Schema } from "../../src/teleport/gen/teleport/types_pb.js";
import { monitoringRuleFromProto } from "../../src/teleport/monitoring-rules.js";

const rule = create(AccessMonitoringRuleSchema, {
  kind: "access_monitoring_rule",
  version: "v1",
  metadata: { name: "dba" },
  spec: {
    subjects: ["access_request"],
    condition: 'access_request.spec.roles.contains("dba")',
    notification: { name: "mattermost", recipients: ["acme/dba", "carol@example.com"] },
  },
});

test("a rule's name, subjects, condition, plugin and recipients", () => {
  assert.deepEqual(monitoringRuleFromProto(rule), {
    name: "dba",
    subjects: ["access_request"],
    condition: 'access_request.spec.roles.contains("dba")',
    notificationName: "mattermost",
    recipients: ["acme/dba", "carol@example.com"],
    unknownFields: [],
  });
});

test("a spec field we do not know (a newer server's schedules) is kept as its number", () => {
  // The spec (field 5) with an extra length-delimited field 8, as a newer Teleport would send.
  const spec = toBinary(AccessMonitoringRuleSchema.field.spec.message!, rule.spec!);
  const extended = new BinaryWriter()
    .raw(spec)
    .tag(8, 2)
    .bytes(new Uint8Array([10, 0]))
    .finish();
  const wire = new BinaryWriter()
    .raw(toBinary(AccessMonitoringRuleSchema, { ...rule, spec: undefined }))
    .tag(5, 2)
    .bytes(extended)
    .finish();
  const decoded = monitoringRuleFromProto(fromBinary(AccessMonitoringRuleSchema, wire));
  assert.deepEqual(decoded.unknownFields, [8]);
  assert.equal(decoded.condition, rule.spec?.condition);
});

test("conditions see a request's system annotations and its requested resource ids off the wire", () => {
  const request = accessRequestFromProto(
    create(AccessRequestV3Schema, {
      metadata: { name: "r1" },
      spec: {
        user: "alice",
        roles: ["db-access"],
        systemAnnotations: { values: { pagerduty_services: { values: ["db-oncall"] } } },
        requestedResourceIds: [
          { clusterName: "acme", kind: "db", name: "orders" },
          { clusterName: "acme", kind: "node", name: "web-1" },
        ],
      },
    }),
  );
  const env = conditionEnv(request, {});
  const matches = (condition: string) => compileCondition(condition).evaluate(env);
  assert.equal(
    matches('access_request.spec.system_annotations["pagerduty_services"].contains("db-oncall")'),
    true,
  );
  assert.equal(matches("access_request.spec.requested_resources.length == 2"), true);
  assert.equal(matches("access_request.spec.requested_resources.length == 0"), false);
});
