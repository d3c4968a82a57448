/**
 * Finds the line where each key of a TOML document is written, so that every config error can
 * say "line 12". The parser reports positions only for syntax errors; for a wrong value or an
 * unknown key we need the line ourselves. This scanner runs only on documents the parser has
 * already accepted, so it can stay small: it follows table headers, dotted keys, inline tables,
 * and skips strings (including multi-line ones), arrays and comments without judging them.
 */
export interface KeyLines {
  /**
   * 1-based line of the key at `path` (`["mattermost", "token"]`), of a table's `[header]`, or
   * of the first key that implies a table (`[http.tls]` implies `http`). Numeric segments
   * (array indices) are ignored: an array element is reported at its key's line.
   */
  lineOf(path: readonly (string | number)[]): number | undefined;
}

const BARE_KEY_CHAR = /[A-Za-z0-9_-]/;

export function indexKeyLines(source: string): KeyLines {
  // Lines where a path is written itself, and lines where it is only implied by a longer path
  // (`[http.tls]` implies `http`); a written line wins, wherever it comes in the file.
  const written = new Map<string, number>();
  const implied = new Map<string, number>();
  let position = 0;
  let line = 1;

  const peek = (offset = 0) => source[position + offset] ?? "";
  const startsWith = (token: string) => source.startsWith(token, position);
  const advance = (count = 1) => {
    for (let n = 0; n < count && position < source.length; n++) {
      if (source[position] === "\n") line++;
      position++;
    }
  };
  const record = (path: string[], at: number) => {
    for (let length = 1; length <= path.length; length++) {
      const id = path.slice(0, length).join("\0");
      const map = length === path.length ? written : implied;
      if (!map.has(id)) map.set(id, at);
    }
  };
  const skipSpaces = () => {
    while (peek() === " " || peek() === "\t") advance();
  };
  const skipComment = () => {
    if (peek() === "#") while (position < source.length && peek() !== "\n") advance();
  };
  /** Whitespace, newlines and comments: the filler allowed between array elements. */
  const skipBlank = () => {
    for (;;) {
      skipSpaces();
      skipComment();
      if (peek() === "\n" || peek() === "\r") advance();
      else return;
    }
  };

  const readQuoted = (quote: string, escapes: boolean): string => {
    let value = "";
    advance(quote.length);
    while (position < source.length && !startsWith(quote)) {
      if (escapes && peek() === "\\") {
        value += peek(1);
        advance(2);
      } else {
        value += peek();
        advance();
      }
    }
    advance(quote.length);
    // A multi-line string may end with up to two extra quotes that belong to its content.
    if (quote.length === 3) for (let n = 0; n < 2 && peek() === quote[0]; n++) advance();
    return value;
  };

  const readSimpleKey = (): string => {
    if (peek() === '"') return readQuoted('"', true);
    if (peek() === "'") return readQuoted("'", false);
    let key = "";
    while (BARE_KEY_CHAR.test(peek())) {
      key += peek();
      advance();
    }
    return key;
  };

  const readDottedKey = (): string[] => {
    const keys: string[] = [];
    for (;;) {
      skipSpaces();
      keys.push(readSimpleKey());
      skipSpaces();
      if (peek() !== ".") return keys;
      advance();
    }
  };

  const skipValue = (path: string[]): void => {
    skipSpaces();
    if (startsWith('"""')) readQuoted('"""', true);
    else if (startsWith("'''")) readQuoted("'''", false);
    else if (peek() === '"') readQuoted('"', true);
    else if (peek() === "'") readQuoted("'", false);
    else if (peek() === "[") {
      advance();
      for (skipBlank(); position < source.length && peek() !== "]"; skipBlank()) {
        skipValue(path);
        skipBlank();
        if (peek() === ",") advance();
      }
      advance();
    } else if (peek() === "{") {
      advance();
      for (skipBlank(); position < source.length && peek() !== "}"; skipBlank()) {
        const at = line;
        const keys = readDottedKey();
        record([...path, ...keys], at);
        skipSpaces();
        advance(); // "="
        skipValue([...path, ...keys]);
        skipBlank();
        if (peek() === ",") advance();
      }
      advance();
    } else {
      // Numbers, booleans, dates (which may contain a space): up to the next delimiter.
      while (position < source.length && !",]}#\n\r".includes(peek())) advance();
    }
  };

  let table: string[] = [];
  while (position < source.length) {
    skipBlank();
    if (position >= source.length) break;
    const at = line;
    if (peek() === "[") {
      const arrayOfTables = peek(1) === "[";
      advance(arrayOfTables ? 2 : 1);
      table = readDottedKey();
      advance(arrayOfTables ? 2 : 1);
      record(table, at);
    } else {
      const keys = readDottedKey();
      record([...table, ...keys], at);
      skipSpaces();
      advance(); // "="
      skipValue([...table, ...keys]);
    }
    // Whatever remains on the line is a comment or blank; move past it.
    while (position < source.length && peek() !== "\n") advance();
  }

  return {
    lineOf(path) {
      const id = path.filter((segment) => typeof segment === "string").join("\0");
      return written.get(id) ?? implied.get(id);
    },
  };
}
