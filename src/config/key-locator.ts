/**
 * Names and finds keys the way the operator wrote them. Checks work with current spellings
 * (`http.listen_addr`); the file may use an old one (`listen`) on some line. Every message
 * names the key as written and its line, so the operator can find it.
 */
import { dottedKey, type KeyPath } from "./config-issue.js";
import type { KeyLines } from "./key-lines.js";

export interface KeyLocator {
  /** Line of the key in the file, when it is written there. */
  lineOf(path: KeyPath): number | undefined;
  /** The key as the file spells it, dotted: `http.listen` for a legacy `listen_addr`. */
  keyName(path: KeyPath): string;
  /** The path as the file spells it: `["http", "listen"]` for a legacy `listen_addr`. */
  spelledPath(path: KeyPath): KeyPath;
}

export function keyLocator(lines: KeyLines, spelledPath: (path: KeyPath) => KeyPath): KeyLocator {
  return {
    lineOf: (path) => lines.lineOf(spelledPath(path)),
    keyName: (path) => dottedKey(spelledPath(path)),
    spelledPath,
  };
}
