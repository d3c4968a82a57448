/**
 * Mattermost ids: 26 lowercase base32 characters (MATTERMOST-API.md §1). Every id the daemon
 * reads from a reply, a callback or its own plugin data must look like one before it is used.
 */
export const MATTERMOST_ID = /^[a-z0-9]{26}$/;

export function isMattermostId(value: unknown): value is string {
  return typeof value === "string" && MATTERMOST_ID.test(value);
}
