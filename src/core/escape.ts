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
  const runes = Array.from(text);
  if (runes.length <= maxRunes) return text;
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

/** Rune count of a string (what Mattermost's limits count, MATTERMOST-API.md §6). */
export function runeLength(text: string): number {
  // Code units, less the second half of each surrogate pair (one loop, no string iterator).
  let count = text.length;
  for (let i = 1; i < text.length; i++) {
    if (isLowSurrogate(text.charCodeAt(i)) && isHighSurrogate(text.charCodeAt(i - 1))) {
      count--;
      i++;
    }
  }
  return count;
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/**
 * Runes of `value` as Mattermost's Go server serialises it: Go's json.Marshal also escapes
 * `<`, `>`, `&`, U+2028 and U+2029 as `\u00XX`, which counts against the props limit.
 */
export function goJsonRuneLength(value: unknown): number {
  const json = JSON.stringify(value);
  let extra = 0;
  for (let i = 0; i < json.length; i++) {
    const code = json.charCodeAt(i);
    // < > & U+2028 U+2029
    if (code === 0x3c || code === 0x3e || code === 0x26 || code === 0x2028 || code === 0x2029) extra += 5;
  }
  return runeLength(json) + extra;
}
