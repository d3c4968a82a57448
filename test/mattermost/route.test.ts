import assert from "node:assert/strict";
import { test } from "node:test";
import { routeOf } from "../../src/mattermost/route.js";

test("routeOf names endpoints without ids, names or query strings, for metric labels", () => {
  const id = "a".repeat(26);
  assert.equal(routeOf("GET", "users/me"), "GET /users/me");
  assert.equal(routeOf("POST", "posts?set_online=false"), "POST /posts");
  assert.equal(routeOf("PUT", `posts/${id}/patch`), "PUT /posts/{id}/patch");
  assert.equal(routeOf("GET", `channels/${id}/members/${id}`), "GET /channels/{id}/members/{id}");
  assert.equal(
    routeOf("GET", "teams/name/acme/channels/name/access-requests"),
    "GET /teams/name/{name}/channels/name/{name}",
  );
  assert.equal(routeOf("GET", "users/username/bob"), "GET /users/username/{name}");
  assert.equal(routeOf("GET", "users/email/bob%40example.com"), "GET /users/email/{name}");
});
