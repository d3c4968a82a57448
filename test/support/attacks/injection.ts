/**
 * Markup smuggled into what a requester types: a request reason must reach the channel inert —
 * no @all/@channel notification, no link or image (core/escape.ts; ../shared/design/
 * MATTERMOST-API.md §6, message formatting).
 */
import { type Attack, fieldOf, postedRequest } from "./target.js";

export const mentionAndLinkInjection: Attack = {
  name: "@all and link injection in the request reason",
  async run(target) {
    const reason =
      "@all @channel please [click](https://evil.example) ![x](https://evil.example/i.png) www.evil.example <!here>";
    const { id, post } = await postedRequest(target, { reason });
    const shown = fieldOf(post, "Reason") ?? "";
    const inert = !/@[a-z]|https:\/\/|www\.|\]\(/i.test(shown);
    return {
      attempts: [{ status: inert ? 400 : 200, text: shown }],
      ids: [id],
      notes: [shown],
    };
  },
};
