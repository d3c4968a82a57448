import assert from "node:assert/strict";
import { test } from "node:test";
import { escapeCode } from "../../src/core/escape.js";
import { type PostModel, renderPost } from "../../src/core/render.js";

const model: PostModel = {
  requestId: "r1",
  user: "alice",
  roles: ["editor"],
  reason: "@all see [x](y)",
  status: "PENDING",
};
const buttons = {
  url: "https://plugin.example/mattermost_action",
  context: { approve: { a: 1 }, deny: { d: 1 } },
};

function fieldValue(post: ReturnType<typeof renderPost>, title: string): string | undefined {
  return post.props.attachments?.[0]?.fields?.find((field) => field.title === title)?.value;
}

test("a pending post shows who, what, why, the id and the status, with two buttons", () => {
  const post = renderPost(model, buttons);
  const attachment = post.props.attachments?.[0];
  assert.equal(fieldValue(post, "User"), "`alice`");
  assert.equal(fieldValue(post, "Roles"), "`editor`");
  assert.equal(fieldValue(post, "Request ID"), "`r1`");
  assert.equal(fieldValue(post, "Status"), "⏳ PENDING");
  assert.doesNotMatch(fieldValue(post, "Reason") ?? "", /@all|\[x\]/);
  assert.deepEqual(
    attachment?.actions?.map((action) => [action.id, action.name, action.integration?.url]),
    [
      ["approve", "Approve", buttons.url],
      ["deny", "Deny", buttons.url],
    ],
  );
  assert.ok(attachment?.actions?.every((action) => /^[A-Za-z0-9]+$/.test(action.id)));
});

test("a post decided in Teleport only shows the link and both tsh commands, no buttons", () => {
  const post = renderPost(
    {
      ...model,
      linkOnly: {
        webUrl: "https://teleport.example.com/web/requests/r1",
        commands: { approve: "tsh request review --approve r1", deny: "tsh request review --deny r1" },
      },
    },
    buttons,
  );
  assert.equal(post.props.attachments?.[0]?.actions, undefined);
  assert.equal(
    fieldValue(post, "Decide in Teleport"),
    "[Open the request in Teleport](https://teleport.example.com/web/requests/r1)\n`tsh request review --approve r1`\n`tsh request review --deny r1`",
  );
});

test("a decided post has no buttons and names the decider", () => {
  const post = renderPost({ ...model, status: "APPROVED", decidedBy: "bob" }, buttons);
  assert.equal(post.props.attachments?.[0]?.actions, undefined);
  assert.equal(fieldValue(post, "Status"), "✅ APPROVED");
  assert.equal(fieldValue(post, "Decided by"), "`bob`");
});

test("rendering is deterministic", () => {
  assert.equal(JSON.stringify(renderPost(model, buttons)), JSON.stringify(renderPost(model, buttons)));
});

test("a resource request lists kind and name of its resources, escaped, capped with 'and N more'", () => {
  const shown = [
    { cluster: "c", kind: "node", name: "web-1", subResource: "" },
    { cluster: "c", kind: "namespace", name: "prod", subResource: "default" },
    { cluster: "c", kind: "db*", name: "pg`@all`", subResource: "" },
    ...Array.from({ length: 7 }, (_, i) => ({
      cluster: "c",
      kind: "app",
      name: `app-${i}`,
      subResource: "",
    })),
  ];
  const post = renderPost({ ...model, resources: { shown, total: 12 } }, buttons);
  const lines = (fieldValue(post, "Resources") ?? "").split("\n");
  assert.equal(lines.length, 11);
  assert.equal(lines[0], "node `web-1`");
  assert.equal(lines[1], "namespace `prod/default`");
  assert.equal(
    lines[2],
    `db\\* ${escapeCode("pg`@all`")}`,
    "kind escaped as text, name as code (roles' rules)",
  );
  assert.equal(lines.at(-1), "and 2 more");
  assert.equal(
    fieldValue(renderPost(model, buttons), "Resources"),
    undefined,
    "role requests have no such field",
  );
});
