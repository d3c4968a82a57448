/**
 * The hand-written UpdatePluginData encoder writes the bytes the generated one does, for records
 * as the daemon writes them and for awkward ones (empty values, multi-byte text, long values,
 * number-like keys), and the Teleport stand-in reads what it wrote.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { PluginDataSeqSchema } from "../../src/teleport/gen/teleport/authservice_pb.js";
import {
  PluginDataEntrySchema,
  PluginDataUpdateParamsSchema,
  PluginDataV3Schema,
} from "../../src/teleport/gen/teleport/types_pb.js";
import {
  decodePluginDataSeq,
  encodePluginDataUpdate,
  type PluginDataUpdate,
} from "../../src/teleport/plugin-data-wire.js";

function generated(params: PluginDataUpdate): Buffer {
  return Buffer.from(toBinary(PluginDataUpdateParamsSchema, create(PluginDataUpdateParamsSchema, params)));
}

const cases: Array<[string, PluginDataUpdate]> = [
  [
    "a claim over an empty record",
    {
      kind: "access_request",
      resource: "0b9c3e0e-8f3a-4a5e-9d7e-2f1f0e6c1a11",
      plugin: "mattermost",
      set: { messages: "", rendered: "", claim: "instance-1@1796096327624", user: "alice", roles: "dba" },
      expect: { messages: "", rendered: "", claim: "", user: "", roles: "" },
    },
  ],
  [
    "multi-byte text and long values",
    {
      kind: "access_request",
      resource: "r",
      plugin: "mattermost",
      set: { request_reason: "fix prod ⏳ — déjà vu 🚀".repeat(40), decided_by: "bøb" },
      expect: {},
    },
  ],
  [
    "number-like keys and empty fields",
    { kind: "", resource: "", plugin: "", set: { "10": "a", "2": "b", z: "", "": "c" }, expect: { a: "" } },
  ],
];

for (const [name, params] of cases) {
  test(`same bytes as the generated encoder: ${name}`, () => {
    const bytes = encodePluginDataUpdate(params);
    assert.deepEqual(bytes, generated(params));
    const decoded = fromBinary(PluginDataUpdateParamsSchema, bytes);
    assert.deepEqual({ ...decoded.set }, params.set);
    assert.deepEqual({ ...decoded.expect }, params.expect);
  });
}

test("same bytes for random records", () => {
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const text = () => {
    const alphabet = "abc_-/@:0123456789 éπ中😀";
    const chars = [...alphabet];
    return Array.from(
      { length: Math.floor(random() * 300) },
      () => chars[Math.floor(random() * chars.length)],
    ).join("");
  };
  for (let round = 0; round < 200; round++) {
    const map = () =>
      Object.fromEntries(Array.from({ length: Math.floor(random() * 14) }, () => [text(), text()]));
    const params = { kind: text(), resource: text(), plugin: text(), set: map(), expect: map() };
    assert.deepEqual(encodePluginDataUpdate(params), generated(params));
  }
});

test("GetPluginData's reply reads as the generated decoder reads it", () => {
  const item = (name: string | undefined, entries: Record<string, Record<string, string> | undefined>) =>
    create(PluginDataV3Schema, {
      kind: "plugin_data",
      version: "v3",
      ...(name === undefined ? {} : { metadata: { name, expires: { seconds: 5n } } }),
      spec: {
        entries: Object.fromEntries(
          Object.entries(entries).map(([plugin, data]) => [
            plugin,
            create(PluginDataEntrySchema, data ? { data } : {}),
          ]),
        ),
      },
    });
  const seq = create(PluginDataSeqSchema, {
    pluginData: [
      item("req-1", { slack: { a: "1" }, mattermost: { messages: "c/p", rendered: "PENDING", "": "é ✓" } }),
      item("req-2", { slack: { a: "2" } }),
      item("req-3", { mattermost: undefined }),
      item(undefined, { mattermost: { claim: "x@1" } }),
    ],
  });
  const bytes = toBinary(PluginDataSeqSchema, seq);
  const generatedItems = fromBinary(PluginDataSeqSchema, bytes)
    .pluginData.filter((pluginData) => pluginData.spec?.entries["mattermost"])
    .map((pluginData) => ({
      resource: pluginData.metadata?.name ?? "",
      data: { ...pluginData.spec!.entries["mattermost"]!.data },
    }));
  assert.deepEqual(decodePluginDataSeq(bytes, "mattermost"), generatedItems);
  assert.deepEqual(
    decodePluginDataSeq(bytes, "mattermost").map((found) => found.resource),
    ["req-1", "req-3", ""],
  );
  assert.deepEqual(decodePluginDataSeq(new Uint8Array(), "mattermost"), []);
});
