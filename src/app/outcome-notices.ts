/**
 * What is said in a request's threads: each review, the final outcome (and a DM to the requester
 * when they have a Mattermost account), and reminders while it stays pending. Every message
 * carries a key that makes a retried post idempotent.
 */
import type { Logger } from "pino";
import type { AccessReview } from "../core/access-request.js";
import { outcomeReply, reminderReply, requesterNotice, reviewReply } from "../core/messages.js";
import type { RequestView } from "../core/plan.js";
import type { PluginRecord } from "../core/plugin-data.js";
import type { PostModel } from "../core/render.js";
import type { Clock } from "../lib/clock.js";
import type { MattermostClient } from "../mattermost/client.js";
import type { PostDrawing } from "./post-drawing.js";
import type { RecipientResolver } from "./recipients.js";

export interface NoticeDeps {
  mattermost: MattermostClient;
  recipients: RecipientResolver;
  drawing: PostDrawing;
  /** DM the requester the outcome (the threads always get it). */
  notifyRequester: boolean;
  clock: Clock;
}

export class OutcomeNotices {
  constructor(private readonly deps: NoticeDeps) {}

  /** Each review as a thread reply, each recorded (by `write`) before the next. */
  async relayReviews(
    id: string,
    record: PluginRecord,
    reviews: readonly AccessReview[],
    log: Logger,
    write: (current: PluginRecord, next: PluginRecord) => Promise<PluginRecord>,
  ): Promise<PluginRecord> {
    let current = record;
    for (const review of reviews) {
      const key = `${id}:review:${current.reviewsRelayed}`;
      await this.deps.drawing.replyInThreads(current, reviewReply(review), key);
      current = await write(current, { ...current, reviewsRelayed: current.reviewsRelayed + 1 });
      log.info(
        { author: review.author, state: review.proposedState },
        "Posted a review in the request's threads",
      );
    }
    return current;
  }

  /** The final outcome in every thread, and a DM to the requester when they are in Mattermost. */
  async announce(id: string, record: PluginRecord, model: PostModel, log: Logger): Promise<void> {
    await this.deps.drawing.replyInThreads(record, outcomeReply(model), `${id}:outcome:${model.status}`);
    const dm = this.deps.notifyRequester ? await this.deps.recipients.directMessageTo(model.user) : undefined;
    if (!dm) return;
    await this.deps.mattermost.createPost({
      channelId: dm.channelId,
      message: requesterNotice(model),
      pendingPostId: `${id}:requester:${model.status}`,
    });
    log.info({ status: model.status }, "Told the requester the outcome");
  }

  /** Reminder number `due` in every thread of a request still pending. */
  async remind(
    id: string,
    view: RequestView,
    record: PluginRecord,
    model: PostModel,
    due: number,
  ): Promise<void> {
    const request = view.kind === "live" ? view.request : undefined;
    const pendingFor = request?.created ? this.deps.clock.now() - request.created.getTime() : 0;
    await this.deps.drawing.replyInThreads(record, reminderReply(model, pendingFor), `${id}:reminder:${due}`);
  }
}
