/**
 * Properties of core/escape.ts and of rendered posts over many generated hostile inputs:
 * nothing a requester writes can mention, link, format or overflow.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  escapeCode,
  escapeText,
  goJsonRuneLength,
  MARKDOWN_SPECIALS,
  MAX_NAME_RUNES,
  MAX_REASON_RUNES,
  runeLength,
  TRUNCATION_MARK,
  truncateRunes,
  ZERO_WIDTH_SPACE,
} from "../../src/core/escape.js";
import { MAX_MESSAGE_RUNES, MAX_PROPS_RUNES, renderPost } from "../../src/core/render.js";
import { hostileText, longHostileText, seededRandom } from "../support/generate.js";

const CASES = 2000;
const SEEDS = [1, 7, 2026];

/** A mention would be `@` directly followed by a name character. */
const MENTION = /@[\p{L}\p{N}_.-]/u;
/** A URL scheme or www host that could autolink. */
const LINK = /[a-z]:\/\/|www\.|mailto:/i;
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** Every markdown special is escaped by a backslash that is not itself escaped. */
function unescapedSpecial(text: string): string | undefined {
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (char === "\\") {
      const next = text[i + 1];
      if (next === undefined || !MARKDOWN_SPECIALS.includes(next)) return `dangling backslash at ${i}`;
      i++;
      continue;
    }
    if (MARKDOWN_SPECIALS.includes(char)) return `unescaped ${JSON.stringify(char)} at ${i}`;
  }
  return undefined;
}

function forEachCase(run: (input: string, random: () => number) => void): void {
  for (const seed of SEEDS) {
    const random = seededRandom(seed);
    for (let i = 0; i < CASES; i++) run(hostileText(random), random);
  }
}

test("escapeText: no mention, link, control character, unescaped markdown; bounded; deterministic", () => {
  forEachCase((input) => {
    const out = escapeText(input);
    const why = `input ${JSON.stringify(input)} gave ${JSON.stringify(out)}`;
    assert.doesNotMatch(out, MENTION, why);
    assert.doesNotMatch(out, LINK, why);
    assert.doesNotMatch(out, CONTROL, why);
    assert.equal(unescapedSpecial(out.replaceAll(ZERO_WIDTH_SPACE, "")), undefined, why);
    // Each kept rune becomes at most three: backslash, rune, zero-width space.
    assert.ok(runeLength(out) <= 3 * MAX_REASON_RUNES, why);
    assert.equal(escapeText(input), out);
  });
});

test("escapeText: the cut is at the rune limit, marked, and never splits a surrogate pair", () => {
  for (const seed of SEEDS) {
    const random = seededRandom(seed);
    for (let i = 0; i < 200; i++) {
      const input = longHostileText(random, MAX_REASON_RUNES + 10 + Math.floor(random() * 2000));
      const out = escapeText(input).replaceAll(ZERO_WIDTH_SPACE, "").replaceAll("\\", "");
      const oneLine = input.replace(CONTROL, " ");
      if (runeLength(oneLine.trim()) > MAX_REASON_RUNES)
        assert.ok(out.endsWith(TRUNCATION_MARK), out.slice(-40));
      assert.doesNotMatch(out, /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
    }
  }
});

test("escapeCode: one code span that cannot be closed early, nothing added inside, no control, bounded", () => {
  forEachCase((input) => {
    const out = escapeCode(input);
    const why = `input ${JSON.stringify(input)} gave ${JSON.stringify(out)}`;
    assert.ok(out.startsWith("`") && out.endsWith("`"), why);
    assert.equal(out.slice(1, -1).includes("`"), false, why);
    // Mentions are not parsed in code spans; what is inside is the name, copy-paste exact.
    const added = (text: string) => text.split(ZERO_WIDTH_SPACE).length - 1;
    assert.ok(added(out) <= added(input), why);
    assert.doesNotMatch(out, CONTROL, why);
    assert.ok(runeLength(out) <= 2 * MAX_NAME_RUNES + 2, why);
  });
});

test("rendered posts stay within Mattermost's message and 5.x props limits, with every field escaped", () => {
  for (const seed of SEEDS) {
    const random = seededRandom(seed);
    for (let i = 0; i < 300; i++) {
      const huge = () => longHostileText(random, Math.floor(random() * 4000));
      const roles = Array.from({ length: Math.floor(random() * 40) }, () => longHostileText(random, 200));
      const reviews = Array.from({ length: Math.floor(random() * 15) }, () => ({
        author: longHostileText(random, 200),
        state: random() < 0.5 ? ("APPROVED" as const) : ("DENIED" as const),
        reason: huge(),
      }));
      const post = renderPost(
        {
          requestId: longHostileText(random, 300),
          user: longHostileText(random, 300),
          roles,
          reason: huge(),
          status: "PENDING",
          resolveReason: huge(),
          clusterName: longHostileText(random, 300),
          reviews: { approvals: 1, approvalsNeeded: 3, reviews },
        },
        {
          url: "https://plugin.example/mattermost_action",
          context: { approve: { sig: "a" }, deny: { sig: "d" } },
        },
      );
      assert.ok(runeLength(post.message) <= MAX_MESSAGE_RUNES);
      const size = goJsonRuneLength(post.props);
      assert.ok(size <= MAX_PROPS_RUNES, `props of ${size} runes`);
      for (const field of post.props.attachments?.[0]?.fields ?? []) {
        // Code spans are literal (no links render and no mentions are found inside them); the one link is ours.
        const prose = field.value
          .replaceAll("\\`", "")
          .replace(/`[^`]*`/g, "")
          .replace(/\]\(https:\/\/[^)]*\)/, "");
        assert.doesNotMatch(prose, MENTION, `${field.title}: ${JSON.stringify(field.value)}`);
        assert.doesNotMatch(prose, LINK, `${field.title}: ${JSON.stringify(field.value)}`);
      }
    }
  }
});

test("rune counts agree with code points, lone surrogates included; Go's escapes count 6 runes", () => {
  const pieces = ["a", "é", "😀", "\ud83d", "\ude00", "<", ">", "&", "\u2028", "\u2029", "`", " "];
  const random = seededRandom(11);
  for (let i = 0; i < CASES; i++) {
    let input = hostileText(random);
    for (let j = Math.floor(random() * 40); j > 0; j--) input += pieces[Math.floor(random() * pieces.length)];
    const why = JSON.stringify(input);
    assert.equal(runeLength(input), Array.from(input).length, why);
    const json = JSON.stringify({ text: input });
    const goEscaped = Array.from(json).filter((rune) => "<>&\u2028\u2029".includes(rune)).length;
    assert.equal(goJsonRuneLength({ text: input }), Array.from(json).length + 5 * goEscaped, why);
    const max = Math.floor(random() * 30) + TRUNCATION_MARK.length;
    const cut = truncateRunes(input, max);
    assert.ok(runeLength(cut) <= max, why);
    if (Array.from(input).length <= max) assert.equal(cut, input, why);
    else
      assert.ok(
        cut.endsWith(TRUNCATION_MARK) && input.startsWith(cut.slice(0, -TRUNCATION_MARK.length)),
        why,
      );
  }
});
