/**
 * Reading deploy/teleport-mattermost.service as systemd does, for the parts tests and the
 * benchmark use: the values of a key, and the environment `Environment=` lines give the service.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const UNIT_PATH = fileURLToPath(new URL("../../deploy/teleport-mattermost.service", import.meta.url));

/**
 * Every value of `key` in the unit, in order (`Key=value` lines, blanks around the key and the
 * "=" ignored as systemd does; comments and section headers never match).
 */
export function unitValues(text: string, key: string): string[] {
  return text.split("\n").flatMap((line) => {
    const match = /^\s*([A-Za-z0-9]+)\s*=\s*(.*?)\s*$/.exec(line);
    return match && match[1] === key ? [match[2] ?? ""] : [];
  });
}

/**
 * The variables `Environment=` sets (systemd.exec(5)): space-separated `NAME=value` assignments,
 * each optionally in double quotes; a later assignment of a name wins and an empty
 * `Environment=` clears the list. Not read: single quotes, quotes inside a word, C escapes,
 * `%` specifiers, line continuations, `EnvironmentFile=`: our unit uses none of them, and a
 * value using them fails here instead of being misread.
 */
export function unitEnvironment(text: string): Record<string, string> {
  let environment: Record<string, string> = {};
  for (const value of unitValues(text, "Environment")) {
    if (value === "") {
      environment = {};
      continue;
    }
    for (const match of value.matchAll(/"([^"]*)"|(\S+)/g)) {
      const assignment = match[1] ?? match[2] ?? "";
      const equals = assignment.indexOf("=");
      if (equals <= 0 || /["'\\%]/.test(assignment))
        throw new Error(`an Environment= assignment this reader does not take: ${assignment}`);
      environment[assignment.slice(0, equals)] = assignment.slice(equals + 1);
    }
  }
  return environment;
}

/** The environment of the shipped unit's service. */
export function shippedUnitEnvironment(): Record<string, string> {
  return unitEnvironment(readFileSync(UNIT_PATH, "utf8"));
}

/**
 * What a systemd service's process gets (the default PATH, the user's HOME, the locale: not the
 * environment of whoever started it), here taken from this process, plus `unitEnvironment`.
 */
export function serviceEnvironment(unitEnvironment: Record<string, string> = {}): NodeJS.ProcessEnv {
  const inherited = ["PATH", "HOME", "LANG"].flatMap((name) =>
    process.env[name] === undefined ? [] : [[name, process.env[name]]],
  );
  return { ...Object.fromEntries(inherited), ...unitEnvironment };
}
