/**
 * Makes requester-controlled text (reasons, user and role names) inert in a Mattermost post:
 * no markdown structure, no mentions, no links or images, bounded length. Mattermost renders
 * markdown with backslash escapes, autolinks bare URLs and `www.` hosts, and notifies on
 * `@name`, `@all`, `@channel`, `@here` (MATTERMOST-API.md §6).
 */

/** Longest reason shown in a post, in runes; Teleport's own plugins cut at 500 too. */
export const MAX_REASON_RUNES = 500;
/** Longest user or role name shown. */
export const MAX_NAME_RUNES = 128;
export const TRUNCATION_MARK = "… (truncated)";

const ZERO_WIDTH_SPACE = "\u200b";
/** Characters with a meaning in Mattermost markdown, escaped with a backslash. */
const MARKDOWN_SPECIALS = /[\\`*_{}[\]()#+\-.!|~<>:]/g;

/** Cuts to at most `maxRunes` code points, marking the cut. */
export function truncateRunes(text: string, maxRunes: number): string {
  const runes = Array.from(text);
  if (runes.length <= maxRunes) return text;
  return (
    runes.slice(0, Math.max(0, maxRunes - Array.from(TRUNCATION_MARK).length)).join("") + TRUNCATION_MARK
  );
}

/**
 * One line of inert text: control characters and line breaks become spaces (no headings,
 * lists, quotes or tables), markdown specials are backslash-escaped, `@` and URL schemes are
 * broken with a zero-width space so nothing mentions anybody or links anywhere.
 */
export function escapeText(text: string, maxRunes: number = MAX_REASON_RUNES): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point.
  const oneLine = text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, " ").trim();
  const cut = truncateRunes(oneLine, maxRunes);
  return cut
    .replace(MARKDOWN_SPECIALS, (char) => `\\${char}`)
    .replace(/@/g, `@${ZERO_WIDTH_SPACE}`)
    .replace(/www\\\./gi, (match) => `${match.slice(0, 3)}${ZERO_WIDTH_SPACE}${match.slice(3)}`)
    .replace(/\\:\/\//g, `\\:${ZERO_WIDTH_SPACE}//`);
}

/** A name shown in code style: backticks removed, so it can neither break out nor format. */
export function escapeCode(text: string, maxRunes: number = MAX_NAME_RUNES): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point.
  const clean = text.replace(/[`\u0000-\u001f\u007f\u2028\u2029]+/g, " ").trim();
  return "`" + truncateRunes(clean, maxRunes) + "`";
}
