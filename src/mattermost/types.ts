/**
 * Shapes of the Mattermost API v4 objects this daemon reads and writes (MATTERMOST-API.md §2, §4).
 * Written by hand: @mattermost/types models the webapp's view, which lacks `integration` on
 * actions (MATTERMOST-API.md §8).
 */
export interface MattermostUser {
  id: string;
  username: string;
  email?: string;
  first_name?: string;
  last_name?: string;
  is_bot?: boolean;
  roles?: string;
}

export interface MattermostTeam {
  id: string;
  name: string;
  display_name?: string;
}

export interface MattermostChannel {
  id: string;
  team_id: string;
  name: string;
  display_name?: string;
  type: string;
}

export interface PostActionIntegration {
  url: string;
  context: Record<string, unknown>;
}

export interface PostAction {
  id: string;
  name: string;
  type?: "button" | "select";
  style?: string;
  integration?: PostActionIntegration;
}

export interface AttachmentField {
  title: string;
  value: string;
  short: boolean;
}

export interface MessageAttachment {
  fallback?: string;
  color?: string;
  pretext?: string;
  author_name?: string;
  title?: string;
  title_link?: string;
  text?: string;
  fields?: AttachmentField[];
  footer?: string;
  actions?: PostAction[];
}

export interface PostProps {
  attachments?: MessageAttachment[];
  [key: string]: unknown;
}

/**
 * JSON text put into a request body as it is: post props that core/render already serialised
 * (to measure them against the props limit) are not serialised a second time.
 */
export class JsonText {
  constructor(readonly text: string) {}
}

export interface MattermostPost {
  id: string;
  create_at: number;
  update_at: number;
  user_id: string;
  channel_id: string;
  root_id: string;
  message: string;
  props: PostProps;
}

/** What the daemon reads of a post it created or patched. */
export type PostWritten = Pick<MattermostPost, "id" | "channel_id" | "root_id">;

/** A list of posts as the API returns it (MATTERMOST-API.md §2 "thread"). */
export interface MattermostPostList {
  order: string[];
  posts: Record<string, MattermostPost>;
}

/** What an integration's reply to a click may carry (MATTERMOST-API.md §4). */
export interface PostActionResponse {
  update?: { message: string; props: PostProps };
  ephemeral_text?: string;
  skip_slack_parsing?: boolean;
}

/** The body Mattermost POSTs to `integration.url` on a click (MATTERMOST-API.md §4). */
export interface PostActionCallback {
  user_id: string;
  user_name?: string;
  channel_id: string;
  channel_name?: string;
  team_id?: string;
  team_domain?: string;
  post_id: string;
  trigger_id?: string;
  type?: string;
  data_source?: string;
  context: Record<string, unknown>;
}

/** What Mattermost POSTs to a dialog's `url` on submit or cancel (MATTERMOST-API.md §5, §10). */
export interface DialogSubmission {
  type: string;
  callback_id: string;
  state: string;
  /** The logged-in user who submitted; always the user the dialog was opened for. */
  user_id: string;
  channel_id: string;
  team_id: string;
  submission: Record<string, unknown> | null;
  cancelled: boolean;
}

/** A dialog reply: `{}` closes it; `error` or per-field `errors` keep it open (MATTERMOST-API.md §5). */
export interface DialogReply {
  error?: string;
  errors?: Record<string, string>;
}
