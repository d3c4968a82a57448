/**
 * What the daemon needs from each Mattermost reply, as schemas checked at the client boundary.
 * A proxy, a web application firewall or a half-upgraded server can answer 2xx with an HTML
 * page, a cut-off body or JSON of another shape (`201 {"status":"OK"}` to a create); such a
 * reply is refused here, as a transient error, instead of an `undefined` id travelling on into
 * plugin data. Only the fields the daemon reads are checked; others pass through untouched.
 */
import type * as http from "node:http";
// zod/mini, as config/ uses: the same checks at a fraction of classic zod's start-up cost.
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";
import { MATTERMOST_ID } from "../core/ids.js";
import { AppError } from "../errors.js";
import { routeOf, stripQuery } from "./route.js";
import type {
  MattermostChannel,
  MattermostPost,
  MattermostPostList,
  MattermostTeam,
  MattermostUser,
  PostProps,
  PostWritten,
} from "./types.js";

// Issues in English (mini leaves them generic); the same global setting config/schema.ts makes.
z.config(en());

/** A schema of the shape `T` the daemon reads from a reply. */
export type ReplySchema<T> = z.ZodMiniType<T>;

/** Longest part of a refused body quoted in an error: enough to recognise a login page. */
const QUOTED_BODY_CHARS = 120;
/** Issues named in one error message. */
const LISTED_ISSUES = 3;

const id = z.string().check(z.regex(MATTERMOST_ID, "not a Mattermost id"));
/** Empty, or an id: `root_id` of a root post, `team_id` of a direct channel. */
const optionalId = z.union([z.literal(""), id]);
const name = z.string().check(z.minLength(1));
const text = z.optional(z.string());
const props = z.pipe(
  z.nullish(z.record(z.string(), z.unknown())),
  z.transform((value): PostProps => (value ?? {}) as PostProps),
);

export const userReply: ReplySchema<MattermostUser> = z.looseObject({
  id,
  username: name,
  email: text,
  first_name: text,
  last_name: text,
  is_bot: z.optional(z.boolean()),
  roles: text,
});

export const teamReply: ReplySchema<MattermostTeam> = z.looseObject({ id, name, display_name: text });

export const channelReply: ReplySchema<MattermostChannel> = z.looseObject({
  id,
  team_id: optionalId,
  name,
  display_name: text,
  type: name,
});

export const channelMemberReply = z.looseObject({ channel_id: id, user_id: id });
export const teamMemberReply = z.looseObject({ team_id: id, user_id: id });

export const postReply: ReplySchema<MattermostPost> = z.looseObject({
  id,
  channel_id: id,
  user_id: id,
  root_id: z._default(optionalId, ""),
  create_at: z._default(z.number(), 0),
  update_at: z._default(z.number(), 0),
  message: z._default(z.string(), ""),
  props,
});

/**
 * What a create or a patch answers, as far as the daemon reads it: the post echoed back, props
 * and all, of which only where it is counts (checked per call). Its other fields are left out of
 * the result, not copied into it (`z.object` strips, `looseObject` would copy each).
 */
export const postWrittenReply: ReplySchema<PostWritten> = z.object({
  id,
  channel_id: id,
  root_id: z._default(optionalId, ""),
});

export const postListReply: ReplySchema<MattermostPostList> = z.looseObject({
  order: z.pipe(
    z.nullish(z.array(id)),
    z.transform((value) => value ?? []),
  ),
  posts: z.pipe(
    z.nullish(z.record(z.string(), postReply)),
    z.transform((value) => value ?? {}),
  ),
});

/** `GET /system/ping`: any Mattermost answers `{"status": "OK", …}` (MATTERMOST-API.md §2). */
export const pingReply = z.looseObject({ status: z.string() });

/** `POST /actions/dialogs/open` answers `{"status": "OK"}`; only "a JSON object" is relied on. */
export const anyObjectReply = z.looseObject({});

/** The first few schema issues, as `path: what` pairs for a log line. */
export function describeIssues(error: { issues: readonly z.core.$ZodIssue[] }): string {
  const issues = error.issues.slice(0, LISTED_ISSUES).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join(".") : "reply";
    return `${path}: ${issue.message}`;
  });
  const more = error.issues.length - issues.length;
  return issues.join("; ") + (more > 0 ? `; and ${more} more` : "");
}

/** The start of a body, on one line, for an error message. */
export function quoteBody(body: string): string {
  const flat = body.replace(/\s+/g, " ").trim();
  return flat.length > QUOTED_BODY_CHARS ? `${flat.slice(0, QUOTED_BODY_CHARS)}…` : flat;
}

/** An HTTP answer as read off the wire. */
export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Mattermost's error body (MATTERMOST-API.md §1). */
export interface ApiErrorBody {
  id?: string;
  message?: string;
  detailed_error?: string;
  request_id?: string;
  status_code?: number;
}

/**
 * The reply of a 2xx answer, checked against what the daemon needs from it; an AppError
 * (retryable: a proxy or a restarting server may answer properly next time) when it is not.
 */
export function readReply<T>(
  response: RawResponse,
  method: string,
  path: string,
  schema: ReplySchema<T>,
  check?: (reply: T) => string | undefined,
): T | AppError {
  let problem: string;
  let json: unknown;
  try {
    json = response.body === "" ? {} : JSON.parse(response.body);
  } catch {
    json = undefined;
  }
  if (json === undefined) {
    const type = response.headers["content-type"] ?? "no content type";
    problem = `not JSON (${type}): ${quoteBody(response.body)}`;
  } else {
    const parsed = schema.safeParse(json);
    const wrong = parsed.success ? check?.(parsed.data) : describeIssues(parsed.error);
    if (parsed.success && wrong === undefined) return parsed.data;
    problem = wrong ?? "unexpected";
  }
  return new AppError(
    "MATTERMOST",
    `Mattermost ${method} /api/v4/${stripQuery(path)} answered ${response.status} with a reply that is not what the API promises (${problem})`,
    {
      details: { status: response.status, route: routeOf(method, path), problem },
      retryable: true,
      fix: "Check that [mattermost] url reaches Mattermost itself: a proxy, firewall or login page in between may be answering instead",
    },
  );
}

export function apiError(response: RawResponse, method: string, path: string): AppError {
  let body: ApiErrorBody = {};
  try {
    body = JSON.parse(response.body) as ApiErrorBody;
  } catch {
    body = { message: response.body.trim().slice(0, 200) };
  }
  const where = `${method} /api/v4/${stripQuery(path)}`;
  const text = body.message || `HTTP ${response.status}`;
  const details = { status: response.status, id: body.id, requestId: body.request_id };
  const retryable = response.status === 429 || response.status >= 500;
  if (response.status === 404) {
    return new AppError("NOT_FOUND", `Mattermost ${where}: ${text}`, { details });
  }
  return new AppError(
    "MATTERMOST",
    `Mattermost ${where}: ${text} (${response.status}${body.id ? ` ${body.id}` : ""})`,
    {
      details,
      retryable,
      fix: fixFor(response.status),
    },
  );
}

function fixFor(status: number): string | undefined {
  if (status === 401) return "Check [mattermost] token: it must be the bot account's access token";
  if (status === 403) return "Add the bot account to the team and the channel it posts to";
  return undefined;
}
