/**
 * A small seeded generator of hostile text for property tests (fast-check is not a dependency):
 * mention keywords, URL schemes, markdown syntax, control and bidi characters, emoji and
 * astral-plane runes, mixed with ordinary words. Same seed, same cases.
 */

/** mulberry32: a tiny, well-spread 32-bit PRNG. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  "@all",
  "@channel",
  "@here",
  "@alice",
  "@",
  "all",
  "channel",
  "here",
  "http://",
  "https://evil.example/x",
  "www.",
  "www.evil.example",
  "mailto:",
  "ftp://",
  "://",
  "[",
  "]",
  "(",
  ")",
  "![",
  "](",
  "[click](https://evil.example)",
  "![img](http://x/i.png)",
  "<",
  ">",
  "<b>",
  "<https://x>",
  "<!channel>",
  "&",
  "&amp;",
  "`",
  "```",
  "*",
  "**",
  "_",
  "__",
  "~",
  "~~",
  "#",
  "# ",
  "> ",
  "- ",
  "1. ",
  "|",
  "---",
  "\\",
  ":",
  ":smile:",
  "\n",
  "\r\n",
  "\t",
  "\u0000",
  "\u0007",
  "\u001b[31m",
  "\u007f",
  "\u0085",
  "\u2028",
  "\u2029",
  "\u202e",
  "\u2066",
  "\u200b",
  "\ufeff",
  "😀",
  "👩‍💻",
  "𝔸",
  "é",
  "e\u0301",
  "中文",
  "a",
  "reason",
  " ",
  "  ",
  "deploy",
  "fix prod",
  ".",
  "-",
  "+",
  "!",
  "{",
  "}",
];

export function hostileText(random: () => number, maxPieces = 40): string {
  const count = Math.floor(random() * maxPieces);
  let text = "";
  for (let i = 0; i < count; i++) text += PIECES[Math.floor(random() * PIECES.length)] as string;
  return text;
}

/** Hostile text padded to about `runes` runes, to push length limits. */
export function longHostileText(random: () => number, runes: number): string {
  let text = "";
  while (Array.from(text).length < runes) text += hostileText(random, 20) || "x";
  return text;
}
