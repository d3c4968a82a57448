/**
 * Reading deploy/teleport-mattermost.service as systemd does, for the parts tests and the
 * benchmark use: the values of a key, and the environment `Environment=` lines give the service.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const UNIT_PATH = fileURLToPath(new URL("../../deploy/teleport-mattermost.service", import.meta.url));

/** Every value of `key` in the unit, in order (`Key=value` lines; comments and sections skipped). */
export function unitValues(text: string, key: string): string[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${key}=`))
    .map((line) => line.slice(key.length + 1));
}

/**
 * The variables `Environment=` sets: space-separated `NAME=value` assignments, each optionally
 * in double quotes (systemd.exec(5)); a later assignment of a name wins.
 */
export function unitEnvironment(text: string): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const value of unitValues(text, "Environment")) {
    for (const match of value.matchAll(/"([^"]*)"|(\S+)/g)) {
      const assignment = match[1] ?? match[2] ?? "";
      const equals = assignment.indexOf("=");
      if (equals <= 0) throw new Error(`not a NAME=value assignment in Environment=: ${assignment}`);
      environment[assignment.slice(0, equals)] = assignment.slice(equals + 1);
    }
  }
  return environment;
}

/** The environment of the shipped unit's service. */
export function shippedUnitEnvironment(): Record<string, string> {
  return unitEnvironment(readFileSync(UNIT_PATH, "utf8"));
}
