/**
 * Teleport server versions: parsing and the minimum this daemon supports. The seed plugin
 * targeted Teleport 4.2.8 (ORIGINAL-PLUGIN.md §0), the oldest method set in TELEPORT-WIRE.md §1.
 */
export const MIN_SERVER_VERSION = "4.2.8";

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
}

export function parseVersion(text: string): SemVer | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(text.trim());
  if (!match) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

export function compareVersions(a: SemVer, b: SemVer): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

export function isAtLeast(version: string, minimum: string): boolean {
  const a = parseVersion(version);
  const b = parseVersion(minimum);
  return a !== undefined && b !== undefined && compareVersions(a, b) >= 0;
}
