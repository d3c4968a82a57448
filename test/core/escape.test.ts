import assert from "node:assert/strict";
import { test } from "node:test";
import {
  escapeCode,
  escapeText,
  MAX_REASON_RUNES,
  TRUNCATION_MARK,
  truncateRunes,
} from "../../src/core/escape.js";

test("mentions are broken so nobody is notified", () => {
  const out = escapeText("ping @all @channel @here @alice");
  assert.doesNotMatch(out, /@(all|channel|here|alice)/);
  assert.match(out, /@\u200ball/);
});

test("markdown structure, links and images are escaped", () => {
  const out = escapeText("# Title\n> quote\n[click](https://evil.example) ![img](x.png) **bold** `code`");
  assert.doesNotMatch(out, /\n/);
  assert.doesNotMatch(out, /(^|[^\\])\[/);
  assert.doesNotMatch(out, /(^|[^\\])\*/);
  assert.doesNotMatch(out, /https:\/\//);
  assert.match(out, /\\#/);
});

test("bare URLs and www hosts do not autolink", () => {
  assert.doesNotMatch(escapeText("see https://evil.example/x"), /https:\/\//);
  assert.doesNotMatch(escapeText("see www.evil.example"), /www\\\./);
});

test("long text is cut at the rune limit and marked", () => {
  const long = "😀".repeat(MAX_REASON_RUNES + 50);
  const out = truncateRunes(long, MAX_REASON_RUNES);
  assert.equal(Array.from(out).length, MAX_REASON_RUNES);
  assert.ok(out.endsWith(TRUNCATION_MARK));
  assert.equal(truncateRunes("short", 10), "short");
});

test("code-style names cannot break out of their backticks", () => {
  assert.equal(escapeCode("ev`il\nname"), "`ev il name`");
});
