/**
 * Which secrets sign the posts: a record this process drew with its own key that later shows
 * another key was redrawn by an instance with a different `[mattermost] secret`. Said once per
 * foreign key; from then on posts that key signed are not redrawn only to re-sign them
 * (core/plan), so two such instances do not redraw each other's posts forever.
 */
import type { Logger } from "pino";

/** Requests remembered as drawn with our key; beyond this many the memory starts over. */
const MAX_REMEMBERED = 20_000;

export class SignerWatch {
  readonly foreign = new Set<string>();
  private readonly ours = new Set<string>();

  constructor(
    private readonly keyId: string,
    private readonly logger: Logger,
  ) {}

  wrote(id: string): void {
    if (this.ours.size >= MAX_REMEMBERED) this.ours.clear();
    this.ours.add(id);
  }

  seen(id: string, keyId: string): void {
    if (!keyId || keyId === this.keyId || !this.ours.has(id)) return;
    this.ours.delete(id);
    if (this.foreign.has(keyId)) return;
    this.foreign.add(keyId);
    this.logger.warn(
      { request_id: id, key_id: this.keyId, other_key_id: keyId },
      "Another teleport-mattermost instance signs buttons with a different [mattermost] secret: clicks on its buttons fail here and clicks on ours fail there",
    );
  }
}
