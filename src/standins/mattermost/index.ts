/**
 * The Mattermost stand-in's public surface, one import for tests, the demo and the scripts. What
 * each file reproduces of the real server is said at its top; docs/architecture.md lists them.
 */
export {
  DEFAULT_MATTERMOST_VERSION,
  DEFAULT_MAX_POST_SIZE_RUNES,
  DEFAULT_OUTGOING_REQUEST_TIMEOUT_MS,
  DEFAULT_RATE_LIMIT,
  LEGACY_TRIGGER_TIMEOUT_MS,
  MATTERMOST_ID_LENGTH,
  OUTGOING_CONNECT_TIMEOUT_MS,
  PENDING_POST_ID_TTL_MS,
  POST_PROPS_MAX_RUNES,
  POST_PROPS_MAX_RUNES_V5,
} from "./limits.js";
export { newMattermostId } from "./model.js";
export { MattermostStandin } from "./standin.js";
export type {
  FaultSpec,
  HttpReply,
  MattermostStandinOptions,
  OpenDialog,
  OutgoingLogEntry,
  RateLimitOptions,
  RequestLogEntry,
  StandinChannel,
  StandinEvent,
  StandinPost,
  StandinTeam,
  StandinUser,
} from "./types.js";
