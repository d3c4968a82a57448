/**
 * The syntax of access monitoring rule conditions: Teleport parses them as Go expressions
 * (github.com/vulcand/predicate over go/parser, typed by lib/utils/typical), so this reads the
 * part of Go's expression grammar those conditions use — `||`, `&&`, `!`, `==`, `!=`, dotted
 * names, calls, method calls, `[index]`, parentheses, string literals (interpreted and raw) and
 * decimal integers — into a small syntax tree. Pure; condition.ts gives the tree its meaning.
 *
 * Go's scanner ends an expression at a newline that follows a name, literal, `)` or `]`
 * (automatic semicolons), so `a\n&& b` is refused as Teleport refuses it; `a &&\nb` is fine.
 */
import { AppError } from "../errors.js";

export type Expr =
  | { kind: "string"; value: string }
  | { kind: "int"; value: number }
  /** A dotted name: `access_request.spec.roles`, `true`. */
  | { kind: "name"; path: string[] }
  | { kind: "index"; target: Expr; key: Expr }
  /**
   * A call by dotted name: a function (`set("a")`, `contains_any(x, y)`), or when no function
   * has that name, the method named by the last part on the value the rest names
   * (`access_request.spec.roles.contains("a")`): predicate decides so, condition.ts does too.
   */
  | { kind: "call"; name: string; args: Expr[]; at: number }
  /** A method call on a value: `access_request.spec.roles.contains("a")`. */
  | { kind: "method"; target: Expr; name: string; args: Expr[] }
  | { kind: "not"; operand: Expr }
  | { kind: "and" | "or" | "eq" | "neq"; left: Expr; right: Expr };

/** A condition that is not a well-formed expression; `offset` is where in the text. */
export function conditionSyntaxError(message: string, offset: number): AppError {
  return new AppError("TELEPORT", `${message} (at offset ${offset})`, { details: { offset } });
}

type TokenKind = "name" | "string" | "int" | "op" | "newline" | "end";

interface Token {
  kind: TokenKind;
  text: string;
  /** The literal's value, for strings. */
  value?: string;
  at: number;
}

const OPERATORS = ["||", "&&", "==", "!=", "(", ")", "[", "]", ",", ".", "!"];
/** Go operators this grammar does not give a meaning: named in the error rather than "unexpected". */
const UNSUPPORTED = ["<=", ">=", "<", ">", "+", "-", "*", "/", "%", "^", "&", "|", "?", ":", "{", "}", "="];
const NAME_START = /[\p{L}_]/u;
const NAME_PART = /[\p{L}\p{Nd}_]/u;
/** Tokens after which a newline ends the expression (Go spec, "Semicolons"). */
const ENDS_LINE = new Set<TokenKind>(["name", "string", "int"]);

const SIMPLE_ESCAPES: Record<string, string> = {
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "\\": "\\",
  '"': '"',
};

/** Reads a Go interpreted string literal starting at `start` (the opening quote). */
function readString(text: string, start: number): { value: string; end: number } {
  let value = "";
  let i = start + 1;
  while (i < text.length) {
    const char = text[i] as string;
    if (char === '"') return { value, end: i + 1 };
    if (char === "\n") break;
    if (char !== "\\") {
      value += char;
      i++;
      continue;
    }
    const escaped = text[i + 1] ?? "";
    const simple = SIMPLE_ESCAPES[escaped];
    if (simple !== undefined) {
      value += simple;
      i += 2;
      continue;
    }
    const hexDigits = { x: 2, u: 4, U: 8 }[escaped as "x" | "u" | "U"];
    // \x and octal escapes are bytes; \u and \U are code points (Go spec, "Rune literals").
    const digits = hexDigits === undefined ? text.slice(i + 1, i + 4) : text.slice(i + 2, i + 2 + hexDigits);
    const valid = hexDigits === undefined ? /^[0-7]{3}$/ : new RegExp(`^[0-9a-fA-F]{${hexDigits}}$`);
    const code = valid.test(digits) ? Number.parseInt(digits, hexDigits === undefined ? 8 : 16) : Number.NaN;
    const length = hexDigits === undefined ? 4 : 2 + hexDigits;
    if (Number.isNaN(code) || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      throw conditionSyntaxError("invalid escape in string literal", i);
    }
    // A byte above 0x7f would be half of a UTF-8 sequence in Go; conditions compare whole text.
    if ((escaped === "x" || hexDigits === undefined) && code > 0x7f) {
      throw conditionSyntaxError("non-ASCII byte escape in string literal", i);
    }
    value += String.fromCodePoint(code);
    i += length;
  }
  throw conditionSyntaxError("string literal not terminated", start);
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (token: Token) => tokens.push(token);
  while (i < text.length) {
    const char = text[i] as string;
    if (char === "\n") {
      const last = tokens.at(-1);
      if (last && (ENDS_LINE.has(last.kind) || last.text === ")" || last.text === "]")) {
        push({ kind: "newline", text: "\n", at: i });
      }
      i++;
    } else if (char === " " || char === "\t" || char === "\r") {
      i++;
    } else if (text.startsWith("//", i)) {
      const newline = text.indexOf("\n", i);
      i = newline < 0 ? text.length : newline;
    } else if (text.startsWith("/*", i)) {
      const close = text.indexOf("*/", i + 2);
      if (close < 0) throw conditionSyntaxError("comment not terminated", i);
      // A comment spanning lines counts as a newline (Go spec, "Comments").
      if (text.slice(i, close).includes("\n")) {
        const last = tokens.at(-1);
        if (last && (ENDS_LINE.has(last.kind) || last.text === ")" || last.text === "]")) {
          push({ kind: "newline", text: "\n", at: i });
        }
      }
      i = close + 2;
    } else if (char === '"') {
      const { value, end } = readString(text, i);
      push({ kind: "string", text: text.slice(i, end), value, at: i });
      i = end;
    } else if (char === "`") {
      const close = text.indexOf("`", i + 1);
      if (close < 0) throw conditionSyntaxError("raw string literal not terminated", i);
      // Go drops carriage returns from raw strings.
      push({
        kind: "string",
        text: text.slice(i, close + 1),
        value: text.slice(i + 1, close).replace(/\r/g, ""),
        at: i,
      });
      i = close + 1;
    } else if (/[0-9]/.test(char)) {
      const match = /^[0-9]+/.exec(text.slice(i)) as RegExpExecArray;
      const after = text[i + match[0].length] ?? "";
      if (/[.xXbBoOeE_a-zA-Z]/.test(after) || (match[0].length > 1 && match[0].startsWith("0"))) {
        throw conditionSyntaxError("only decimal integers are supported", i);
      }
      push({ kind: "int", text: match[0], at: i });
      i += match[0].length;
    } else if (NAME_START.test(char)) {
      let end = i + 1;
      while (end < text.length && NAME_PART.test(text[end] as string)) end++;
      push({ kind: "name", text: text.slice(i, end), at: i });
      i = end;
    } else {
      const operator = OPERATORS.find((op) => text.startsWith(op, i));
      if (!operator) {
        const unsupported = UNSUPPORTED.find((op) => text.startsWith(op, i));
        throw conditionSyntaxError(
          unsupported
            ? `operator ${unsupported} is not supported`
            : `unexpected character ${JSON.stringify(char)}`,
          i,
        );
      }
      push({ kind: "op", text: operator, at: i });
      i += operator.length;
    }
  }
  push({ kind: "end", text: "", at: text.length });
  return tokens;
}

/** Parses a whole condition. Throws an AppError saying what is wrong and where. */
export function parseCondition(text: string): Expr {
  const tokens = tokenize(text);
  let position = 0;
  const peek = (): Token => tokens[position] as Token;
  const next = (): Token => tokens[position++] as Token;
  const isOp = (op: string) => peek().kind === "op" && peek().text === op;
  const expect = (op: string): void => {
    const token = next();
    if (token.kind !== "op" || token.text !== op) throw unexpected(token, `expected ${op}`);
  };
  const unexpected = (token: Token, what: string) =>
    conditionSyntaxError(
      `${what}, found ${token.kind === "end" ? "the end" : token.kind === "newline" ? "a new line" : JSON.stringify(token.text)}`,
      token.at,
    );

  const binary = (operand: () => Expr, ops: Record<string, "and" | "or" | "eq" | "neq">) => (): Expr => {
    let left = operand();
    while (peek().kind === "op" && ops[peek().text]) {
      const kind = ops[next().text] as "and" | "or" | "eq" | "neq";
      left = { kind, left, right: operand() };
    }
    return left;
  };

  const args = (): Expr[] => {
    const list: Expr[] = [];
    expect("(");
    if (isOp(")")) {
      next();
      return list;
    }
    for (;;) {
      list.push(or());
      if (isOp(")")) {
        next();
        return list;
      }
      expect(",");
    }
  };

  const primary = (): Expr => {
    const token = next();
    if (token.kind === "string") return { kind: "string", value: token.value ?? "" };
    if (token.kind === "int") return { kind: "int", value: Number(token.text) };
    if (token.kind === "op" && token.text === "(") {
      const inner = or();
      expect(")");
      return inner;
    }
    if (token.kind !== "name") throw unexpected(token, "expected a value");
    const path = [token.text];
    while (isOp(".") && tokens[position + 1]?.kind === "name") {
      next();
      path.push(next().text);
    }
    if (!isOp("(")) return { kind: "name", path };
    return { kind: "call", name: path.join("."), args: args(), at: token.at };
  };

  const postfix = (): Expr => {
    let expr = primary();
    for (;;) {
      if (isOp("[")) {
        next();
        const key = or();
        expect("]");
        expr = { kind: "index", target: expr, key };
      } else if (isOp(".")) {
        next();
        const name = next();
        if (name.kind !== "name") throw unexpected(name, "expected a method name");
        if (!isOp("(")) throw unexpected(peek(), `expected ( after .${name.text}`);
        expr = { kind: "method", target: expr, name: name.text, args: args() };
      } else {
        return expr;
      }
    }
  };

  const unary = (): Expr => {
    if (isOp("!")) {
      next();
      return { kind: "not", operand: unary() };
    }
    return postfix();
  };

  const comparison = binary(unary, { "==": "eq", "!=": "neq" });
  const and = binary(comparison, { "&&": "and" });
  const or: () => Expr = binary(and, { "||": "or" });

  if (peek().kind === "end") throw conditionSyntaxError("empty expression", 0);
  const expr = or();
  // go/parser.ParseExpr accepts one automatic semicolon at the very end.
  if (peek().kind === "newline") next();
  if (peek().kind !== "end") throw unexpected(peek(), "expected the end of the expression");
  return expr;
}
