/**
 * Mattermost's error answers (MATTERMOST-API.md §1 "Error body"; `model.AppError` in
 * `server/public/model/utils.go`): the JSON body `{id, message, detailed_error, request_id,
 * status_code}`, the English texts of the ids the stand-in produces (`server/i18n/en.json`), and
 * `detailed_error` filled only with `ServiceSettings.EnableDeveloper`.
 */

/** English texts of the error ids the stand-in produces (i18n/en.json). */
const ERROR_MESSAGES: Record<string, string> = {
  "api.context.invalid_url_param.app_error": "Invalid or missing {{.Name}} parameter in request URL.",
  "api.context.invalid_body_param.app_error": "Invalid or missing {{.Name}} in request body.",
  "api.context.session_expired.app_error": "Invalid or expired session, please login again.",
  "api.context.token_provided.app_error": "Session is not OAuth but token was provided in the query string.",
  "api.context.permissions.app_error": "You do not have the appropriate permissions.",
  "api.context.404.app_error": "Sorry, we could not find the page.",
  "api.config.client.old_format.app_error":
    "New format for the client configuration is not supported yet. Please specify format=old in the query string.",
  "app.post.get.app_error": "Unable to get the post.",
  "app.channel.get.existing.app_error": "Unable to find the existing channel.",
  "app.channel.get_by_name.missing.app_error": "Channel does not exist.",
  "app.team.get_by_name.missing.app_error": "Unable to find the existing team.",
  "app.user.get_by_username.app_error":
    "Unable to find an existing account matching this username for this team. This team may require an invite from the team owner to join.",
  "app.user.missing_account.const": "Unable to find the user.",
  "api.user.get_user_by_email.permissions.app_error": "Unable to get user by email.",
  "api.channel.create_direct_channel.invalid_user.app_error": "Invalid user ID for direct channel creation.",
  "model.post.is_valid.msg.app_error": "Invalid message.",
  "model.post.is_valid.props.app_error": "Invalid props.",
  "model.post.is_valid.type.app_error": "Invalid type.",
  "model.post.is_valid.root_id.app_error": "Invalid root id.",
  "api.post.create_post.root_id.app_error": "Invalid RootId parameter.",
  "api.post.create_post.channel_root_id.app_error": "Invalid ChannelId for RootId parameter.",
  "api.post.deduplicate_create_post.pending":
    "Rejected post since another client is making the same request.",
  "api.post.do_action.action_id.app_error": "Invalid action id.",
  "api.post.do_action.action_integration.app_error": "Action integration error.",
  "interactive_message.decode_trigger_id.base64_decode_failed":
    "Failed to decode base64 for trigger ID for interactive dialog.",
  "interactive_message.decode_trigger_id.missing_data":
    "Trigger ID missing required data for interactive dialog.",
  "interactive_message.decode_trigger_id.expired":
    "Trigger ID for interactive dialog is expired. Trigger IDs live for a maximum of {{.Seconds}}s.",
  "interactive_message.decode_trigger_id.base64_decode_failed_signature":
    "Failed to decode base64 signature of trigger ID for interactive dialog.",
  "interactive_message.decode_trigger_id.signature_decode_failed":
    "Failed to decode the signature of the trigger ID for interactive dialog.",
  "interactive_message.decode_trigger_id.verify_signature_failed":
    "Signature verification failed of trigger ID for interactive dialog.",
  "app.standin.internal_error": "The Mattermost stand-in failed (a bug in the stand-in, not in the client).",
  "app.standin.fault_injected": "Injected fault (Mattermost stand-in).",
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorId: string,
    readonly detailed = "",
    readonly params: Record<string, string | number> = {},
  ) {
    super(errorId);
  }
}

export const invalidUrlParam = (name: string) =>
  new ApiError(400, "api.context.invalid_url_param.app_error", "", { Name: name });
export const invalidBodyParam = (name: string) =>
  new ApiError(400, "api.context.invalid_body_param.app_error", "", { Name: name });
export const permissionError = (permission: string) =>
  new ApiError(403, "api.context.permissions.app_error", `permission=${permission}`);
export const integrationError = (detail: string, status = 400) =>
  new ApiError(status, "api.post.do_action.action_integration.app_error", detail);

/** The JSON body of an `AppError`; `detailed_error` only when `EnableDeveloper` is on. */
export function errorBody(error: ApiError, requestId: string, enableDeveloper: boolean | undefined) {
  let message = ERROR_MESSAGES[error.errorId] ?? error.errorId;
  for (const [name, value] of Object.entries(error.params))
    message = message.replace(`{{.${name}}}`, String(value));
  return {
    id: error.errorId,
    message,
    detailed_error: enableDeveloper ? error.detailed : "",
    request_id: requestId,
    status_code: error.status,
  };
}
