/**
 * Mattermost API paths as routes: ids and names replaced, so metrics and log lines have one
 * series per endpoint rather than per post or user.
 */
import { MATTERMOST_ID } from "../core/ids.js";

/** Segments after these are names chosen by people, not route parts. */
const NAME_KEYS = new Set(["name", "username", "email"]);

/**
 * The route of an API path with ids and names replaced, e.g. `PUT /posts/{id}/patch`, so that
 * metrics have one series per endpoint rather than per post.
 */
export function routeOf(method: string, path: string): string {
  const segments = stripQuery(path).split("/");
  const route = segments.map((segment, index) =>
    MATTERMOST_ID.test(segment)
      ? "{id}"
      : index > 0 && NAME_KEYS.has(segments[index - 1] ?? "")
        ? "{name}"
        : segment,
  );
  return `${method} /${route.join("/")}`;
}

export function stripQuery(path: string): string {
  const index = path.indexOf("?");
  return index < 0 ? path : path.slice(0, index);
}
