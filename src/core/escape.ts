/**
 * Makes requester-controlled text (reasons, user and role names) inert in a Mattermost post:
 * no markdown structure, no mentions, no links or images, bounded length. Mattermost renders
 * markdown with backslash escapes, autolinks bare URLs and `www.` hosts, and notifies on
 * `@name`, `@all`, `@channel`, `@here` (MATTERMOST-API.md §6).
 */

/** Longest reason shown in a post, in runes; Teleport truncates reasons at 500 too (MATTERMOST-API.md §6). */
export const MAX_REASON_RUNES = 500;
/** Longest user or role name shown. */
export const MAX_NAME_RUNES = 128;
export const TRUNCATION_MARK = "… (truncated)";

export const ZERO_WIDTH_SPACE = "\u200b";
/** Characters with a meaning in Mattermost markdown, escaped with a backslash. */
export const MARKDOWN_SPECIALS = "\\`*_{}[]()#+-.!|~<>:";
const MARKDOWN_SPECIALS_PATTERN = /[\\`*_{}[\]()#+\-.!|~<>:]/g;
/**
 * Control characters, line and paragraph separators and bidirectional overrides/isolates (which
 * can make a reason display as something else than it says): replaced by a space.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point.
const INVISIBLE_OR_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g;

/** Cuts to at most `maxRunes` code points, marking the cut. */
export function truncateRunes(text: string, maxRunes: number): string {
  // No more runes than code units: most text is kept whole without splitting it into runes.
  if (text.length <= maxRunes || runeLength(text) <= maxRunes) return text;
  const runes = Array.from(text);
  return (
    runes.slice(0, Math.max(0, maxRunes - Array.from(TRUNCATION_MARK).length)).join("") + TRUNCATION_MARK
  );
}

/** Breaks every `@` so no mention (user, @all, @channel, @here) can form. */
function breakMentions(text: string): string {
  return text.replace(/@/g, `@${ZERO_WIDTH_SPACE}`);
}

/**
 * One line of inert text: control characters and line breaks become spaces (no headings,
 * lists, quotes or tables), markdown specials are backslash-escaped, `@` and every `:` (URL
 * schemes, `mailto:`, emoji) are broken with a zero-width space, as is `www.`, so nothing
 * mentions anybody or links anywhere. At most `maxRunes` runes of the input are kept.
 */
export function escapeText(text: string, maxRunes: number = MAX_REASON_RUNES): string {
  const oneLine = text.replace(INVISIBLE_OR_CONTROL, " ").trim();
  const cut = truncateRunes(oneLine, maxRunes);
  return breakMentions(cut.replace(MARKDOWN_SPECIALS_PATTERN, (char) => `\\${char}`))
    .replace(/\\:/g, `\\:${ZERO_WIDTH_SPACE}`)
    .replace(/www\\\./gi, (match) => `${match.slice(0, 3)}${ZERO_WIDTH_SPACE}${match.slice(3)}`);
}

/**
 * A name shown in code style: backticks and control characters removed, so it can neither break
 * out nor format. Nothing is added inside: a name copied from the post is the name. Mattermost
 * finds mentions only in markdown text nodes, never in code spans (getExplicitMentions walks
 * markdown.Text only), so an `@` inside needs no breaking.
 */
export function escapeCode(text: string, maxRunes: number = MAX_NAME_RUNES): string {
  const clean = text.replace(INVISIBLE_OR_CONTROL, " ").replace(/`+/g, " ").trim();
  return "`" + truncateRunes(clean, maxRunes) + "`";
}

/** A surrogate pair: one rune in two UTF-16 code units. */
const SURROGATE_PAIR = /[\uD800-\uDBFF][\uDC00-\uDFFF]/g;
const HAS_SURROGATE_PAIR = /[\uD800-\uDBFF][\uDC00-\uDFFF]/;
/** What Go's json.Marshal writes as `\u00XX` (six runes instead of one): < > & U+2028 U+2029. */
const GO_JSON_ESCAPED = /[<>&\u2028\u2029]/g;
const HAS_GO_JSON_ESCAPED = /[<>&\u2028\u2029]/;

/** Rune count of a string (what Mattermost's limits count, MATTERMOST-API.md §6). */
export function runeLength(text: string): number {
  // Code units, less one per surrogate pair (a regular expression scans far faster than a loop).
  // `test` first: `match` builds its result even when there is none to find.
  return HAS_SURROGATE_PAIR.test(text)
    ? text.length - (text.match(SURROGATE_PAIR)?.length ?? 0)
    : text.length;
}

/**
 * Runes of `value` as Mattermost's Go server serialises it: Go's json.Marshal also escapes
 * `<`, `>`, `&`, U+2028 and U+2029 as `\u00XX`, which counts against the props limit.
 */
export function goJsonRuneLength(value: unknown): number {
  return goJsonTextRuneLength(JSON.stringify(value));
}

/** goJsonRuneLength of a value already serialised by JSON.stringify. */
export function goJsonTextRuneLength(json: string): number {
  const escaped = HAS_GO_JSON_ESCAPED.test(json) ? (json.match(GO_JSON_ESCAPED)?.length ?? 0) : 0;
  return runeLength(json) + 5 * escaped;
}
