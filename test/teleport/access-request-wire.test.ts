import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  decodeAccessRequest,
  decodeAccessRequests,
  decodeWatchEvent,
} from "../../src/teleport/access-request-wire.js";
import {
  accessRequestFromProto,
  GO_ZERO_TIME_SECONDS,
  watchEventFromProto,
} from "../../src/teleport/convert.js";
import {
  AccessRequestsSchema,
  EventSchema,
  Operation,
} from "../../src/teleport/gen/teleport/authservice_pb.js";
import {
  AccessRequestKind,
  type AccessRequestV3,
  AccessRequestV3Schema,
  AccessReviewSchema,
  AccessReviewThresholdSchema,
  LabelValuesSchema,
  MetadataSchema,
  RequestState,
  ResourceHeaderSchema,
  ResourceIDSchema,
  StringValuesSchema,
} from "../../src/teleport/gen/teleport/types_pb.js";

const at = (iso: string) => timestampFromDate(new Date(iso));

/** A request with every field set, those the daemon skips too. */
function fullRequest(name: string): AccessRequestV3 {
  const labels = create(LabelValuesSchema, {
    values: {
      k: create(StringValuesSchema, { values: ["v"] }),
      pagerduty_services: create(StringValuesSchema, { values: ["db", "web"] }),
      empty: create(StringValuesSchema, {}),
    },
  });
  return create(AccessRequestV3Schema, {
    kind: "access_request",
    subKind: "",
    version: "v3",
    metadata: create(MetadataSchema, {
      name,
      namespace: "default",
      description: "d",
      labels: { a: "b" },
      expires: at("2030-01-02T03:04:05.678Z"),
      id: 12345n,
      revision: "r1",
    }),
    spec: {
      user: "alice",
      roles: ["dba", "editor"],
      state: RequestState.APPROVED,
      created: at("2029-12-31T00:00:00.001Z"),
      expires: at("2030-01-01T12:00:00Z"),
      requestReason: "deploy <now> & then",
      resolveReason: "ok ✓",
      resolveAnnotations: labels,
      systemAnnotations: labels,
      thresholds: [
        create(AccessReviewThresholdSchema, { name: "a", filter: "f", approve: 2, deny: 1 }),
        create(AccessReviewThresholdSchema, { name: "b", approve: 3 }),
      ],
      roleThresholdMapping: {},
      reviews: [
        create(AccessReviewSchema, {
          author: "bob",
          roles: ["reviewer"],
          proposedState: RequestState.APPROVED,
          reason: "fine",
          created: at("2030-01-01T00:00:00Z"),
          annotations: labels,
          thresholdIndexes: [0, 1],
          submittedBy: "carol",
        }),
        create(AccessReviewSchema, { author: "dave", proposedState: RequestState.DENIED }),
      ],
      suggestedReviewers: ["erin", "frank"],
      requestedResourceIds: [
        create(ResourceIDSchema, { clusterName: "c", kind: "node", name: "web-1", subResourceName: "" }),
        create(ResourceIDSchema, { clusterName: "c", kind: "namespace", name: "prod", subResourceName: "x" }),
      ],
      loginHint: "root",
      dryRun: true,
      maxDuration: at("2030-01-03T00:00:00Z"),
      requestKind: AccessRequestKind.LONG_TERM,
    },
  });
}

const minimal = create(AccessRequestV3Schema, { metadata: { name: "bare" } });
/** Go's zero time.Time, as Teleport sends an unset timestamp. */
const goZero = create(AccessRequestV3Schema, {
  metadata: { name: "zero", expires: { seconds: GO_ZERO_TIME_SECONDS, nanos: 0 } },
  spec: { user: "u", state: RequestState.PENDING, created: { seconds: GO_ZERO_TIME_SECONDS, nanos: 0 } },
});

test("an access request reads as the reflective decoder and convert.ts read it", () => {
  for (const request of [fullRequest("full"), minimal, goZero]) {
    const bytes = toBinary(AccessRequestV3Schema, request);
    assert.deepEqual(
      decodeAccessRequest(bytes),
      accessRequestFromProto(fromBinary(AccessRequestV3Schema, bytes)),
    );
  }
  const full = decodeAccessRequest(toBinary(AccessRequestV3Schema, fullRequest("x")));
  assert.equal(full.thresholdApprovals, 3);
  assert.deepEqual(full.systemAnnotations, { k: ["v"], pagerduty_services: ["db", "web"], empty: [] });
  assert.equal(full.longTerm, true);
  assert.equal(full.requestExpires?.toISOString(), "2030-01-02T03:04:05.678Z");
});

test("text reads as the reflective decoder reads it: ASCII, other UTF-8, long, invalid bytes", () => {
  const reasons = ["deploy", "", "déjà vu ⏳ 中 😀", "x".repeat(256), "y".repeat(257), `${"z".repeat(300)}é`];
  for (const requestReason of reasons) {
    const request = create(AccessRequestV3Schema, {
      metadata: { name: "r" },
      spec: { user: "ü", requestReason },
    });
    const bytes = toBinary(AccessRequestV3Schema, request);
    assert.deepEqual(
      decodeAccessRequest(bytes),
      accessRequestFromProto(fromBinary(AccessRequestV3Schema, bytes)),
    );
    // From a Buffer (as grpc-js hands it over) inside a larger one, as from a Uint8Array.
    const inside = Buffer.concat([Buffer.from([1, 2, 3]), bytes]).subarray(3);
    assert.deepEqual(decodeAccessRequest(inside), decodeAccessRequest(bytes));
  }
  // Bytes that are not UTF-8 are replaced as TextDecoder replaces them.
  const valid = toBinary(
    AccessRequestV3Schema,
    create(AccessRequestV3Schema, { metadata: { name: "r" }, spec: { requestReason: "ab" } }),
  );
  const broken = Buffer.from(valid);
  broken[broken.indexOf("ab") + 1] = 0xc3;
  assert.deepEqual(
    decodeAccessRequest(broken),
    accessRequestFromProto(fromBinary(AccessRequestV3Schema, broken)),
  );
  assert.equal(decodeAccessRequest(broken).requestReason, "a\ufffd");
});

test("a listing reads every request in it", () => {
  const list = create(AccessRequestsSchema, {
    accessRequests: [fullRequest("one"), minimal, goZero, fullRequest("two")],
  });
  const bytes = toBinary(AccessRequestsSchema, list);
  assert.deepEqual(
    decodeAccessRequests(bytes),
    fromBinary(AccessRequestsSchema, bytes).accessRequests.map(accessRequestFromProto),
  );
  assert.deepEqual(decodeAccessRequests(new Uint8Array()), []);
});

test("watch events read as watchEventFromProto reads them", () => {
  const events = [
    create(EventSchema, { type: Operation.INIT }),
    create(EventSchema, {
      type: Operation.PUT,
      resource: { case: "accessRequest", value: fullRequest("put") },
    }),
    create(EventSchema, {
      type: Operation.DELETE,
      resource: {
        case: "resourceHeader",
        value: create(ResourceHeaderSchema, { kind: "access_request", metadata: { name: "gone" } }),
      },
    }),
    // A put without a request and a delete without a header are not events of ours.
    create(EventSchema, { type: Operation.PUT }),
    create(EventSchema, { type: Operation.DELETE }),
  ];
  for (const event of events) {
    const bytes = toBinary(EventSchema, event);
    assert.deepEqual(decodeWatchEvent(bytes), watchEventFromProto(fromBinary(EventSchema, bytes)));
  }
  assert.deepEqual(decodeWatchEvent(toBinary(EventSchema, events[2]!)), { type: "delete", id: "gone" });
});
