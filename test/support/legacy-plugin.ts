/**
 * What the original plugin left behind, made the way it made it: posts created with the bot's
 * token through the Mattermost API (0.1.0: an attachment with a code block and Approve/Deny
 * buttons; 6.x+: a Markdown message), and plugin data written over Teleport's gRPC API without
 * compare-and-swap (ORIGINAL-PLUGIN.md §2–§3). Also plugin data damaged by hand.
 */
import { PLUGIN_NAME } from "../../src/core/plugin-data.js";
import type { World } from "../../src/demo/world.js";
import { MattermostClient } from "../../src/mattermost/client.js";
import { TeleportClient } from "../../src/teleport/client.js";

export type LegacyKind = "0.1.0" | "6.x";

/** A well-formed Mattermost id that no post has: a post deleted since. */
export const MISSING_POST_ID = "zzzzzzzzzzzzzzzzzzzzzzzzzz";

export class LegacyPlugin {
  readonly teleport: TeleportClient;
  readonly mattermost: MattermostClient;

  constructor(private readonly world: World) {
    this.teleport = new TeleportClient({
      addr: world.teleport.addr,
      identity: { cert: world.identity.crt, key: world.identity.key, cas: world.identity.cas },
    });
    this.mattermost = new MattermostClient({
      url: world.mattermost.url,
      token: world.bot.token,
      maxRetries: 0,
    });
  }

  /** The post `kind` made for a pending request of alice's for `editor`; returns its id. */
  async post(kind: LegacyKind, requestId: string): Promise<string> {
    const channelId = this.world.channel.id;
    const post =
      kind === "0.1.0"
        ? await this.mattermost.createPost({
            channelId,
            message: "",
            props: {
              attachments: [
                {
                  text: `\`\`\`\nUser:       alice\nRoles:      editor\nRequest ID: ${requestId}\nStatus:     ⏳ PENDING\n\`\`\``,
                  actions: ["approve", "deny"].map((action) => ({
                    id: action,
                    name: action === "approve" ? "Approve" : "Deny",
                    type: "button" as const,
                    integration: {
                      url: "https://plugin.example.com:8081/mattermost_action",
                      context: { action, req_id: requestId, signature: "c2lnbmF0dXJl" },
                    },
                  })),
                },
              ],
            },
          })
        : await this.mattermost.createPost({
            channelId,
            message: `*You have new pending request to review!*\n**User**: alice\n**Roles**: editor\n**Request ID**: ${requestId}\n**Status**: ⏳ PENDING`,
          });
    return post.id;
  }

  /** Plugin data as `kind` wrote it for the post `postId` in the world's channel. */
  async record(kind: LegacyKind, requestId: string, postId: string): Promise<void> {
    const channelId = this.world.channel.id;
    await this.write(
      requestId,
      kind === "0.1.0"
        ? { user: "alice", roles: "editor", post_id: postId, channel_id: channelId }
        : {
            user: "alice",
            roles: "editor",
            request_reason: "",
            reviews_count: "",
            resolution: "",
            resolve_reason: "",
            messages: `${channelId}/${postId}`,
          },
    );
  }

  /** Writes `data` unconditionally, as 0.1.0 did and as a person editing by hand would. */
  write(requestId: string, data: Record<string, string>): Promise<void> {
    return this.teleport.updatePluginData(requestId, PLUGIN_NAME, data, {});
  }

  close(): void {
    this.teleport.close();
    this.mattermost.close();
  }
}
