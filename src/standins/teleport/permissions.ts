/**
 * Who the caller is and what their roles allow. The caller is read from the verified client
 * certificate: CN = user, O = roles (WIRE §7 "client cert subject"). The checks are those of
 * Teleport's lib/auth/auth_with_roles.go — rule verbs per resource, `review_requests`,
 * `review_requests.submit_for_users` (WIRE §9) and the builtin Admin role — with the
 * AccessDenied messages of WIRE §6. Role definitions are a small stand-in for Teleport role
 * `rules`, not the full role language.
 */
import { accessDenied, notFound } from "./errors.js";
import type { RpcMethod } from "./versions.js";
import {
  KIND_ACCESS_MONITORING_RULE,
  KIND_ACCESS_PLUGIN_DATA,
  KIND_ACCESS_REQUEST,
  KIND_USER,
} from "./wire.js";

export type AccessRequestVerb = "list" | "read" | "update" | "create" | "delete";
export type PluginDataVerb = "list" | "read" | "update";
export type UserVerb = "list" | "read";
export type MonitoringRuleVerb = "list" | "read" | "create" | "update" | "delete";

/** What one role allows; a stand-in for Teleport role `rules` and `review_requests`. */
export interface RolePermissions {
  /** Verbs on resource `access_request`. */
  accessRequest: AccessRequestVerb[];
  /** Verbs on resource `access_plugin_data` (an alternative to the same verbs on `access_request`). */
  pluginData?: PluginDataVerb[];
  /** `allow.review_requests` is non-empty: the role may submit reviews (for any request but its own). */
  review?: boolean;
  /** Verbs on resource `user` (GetUser of another user needs `read`; one's own user needs none). */
  user?: UserVerb[];
  /** Verbs on resource `access_monitoring_rule` (16+; listing needs `read` and `list`). */
  accessMonitoringRule?: MonitoringRuleVerb[];
  /** `allow.review_requests.submit_for_users`: users the role may submit reviews for; `*` = anyone (WIRE §9). */
  submitForUsers?: string[];
}

/** Builtin role whose holders may submit reviews for others (WIRE §9 "older servers"). */
export const BUILTIN_ADMIN_ROLE = "Admin";

const ALL_ACCESS_REQUEST_VERBS: AccessRequestVerb[] = ["list", "read", "update", "create", "delete"];
const PLUGIN_ROLE: RolePermissions = {
  accessRequest: ["list", "read", "update"],
  pluginData: ["update"],
  user: ["read"],
  accessMonitoringRule: ["list", "read"],
};

/**
 * Default roles: the plugin roles Teleport's docs tell operators to create (list/read/update on
 * access_request, update on plugin data, read on user, list/read on access_monitoring_rule), a reviewer, a requester with no rules (users may always
 * create and see their own pending requests) and the builtin Admin with everything.
 */
export const DEFAULT_ROLES: Record<string, RolePermissions> = {
  "access-plugin": PLUGIN_ROLE,
  "access-plugin-mattermost": PLUGIN_ROLE,
  /** Preset role of plugins that submit reviews for users (WIRE §9 "preset role"). */
  "access-plugin-with-review": { ...PLUGIN_ROLE, submitForUsers: ["*"] },
  reviewer: { accessRequest: ["list", "read"], review: true },
  requester: { accessRequest: [] },
  [BUILTIN_ADMIN_ROLE]: {
    accessRequest: ALL_ACCESS_REQUEST_VERBS,
    pluginData: ["list", "read", "update"],
    review: true,
    user: ["list", "read"],
    accessMonitoringRule: ["list", "read", "create", "update", "delete"],
  },
};

/** The authenticated caller, from the verified client certificate (WIRE §7 "client cert subject"). */
export interface CallerIdentity {
  user: string;
  roles: string[];
}

/** Reads CN and O from a Node peer certificate subject, where repeated attributes become arrays. */
export function identityFromSubject(subject: unknown): CallerIdentity | undefined {
  if (typeof subject !== "object" || subject === null) return undefined;
  const fields = subject as Record<string, string | string[] | undefined>;
  const values = (key: string) => {
    const value = fields[key];
    return value === undefined ? [] : Array.isArray(value) ? value : [value];
  };
  const user = values("CN")[0];
  return user ? { user, roles: values("O") } : undefined;
}

/** The role table and the checks made with it. */
export class Permissions {
  constructor(private readonly roles: Record<string, RolePermissions>) {}

  /**
   * Teleport's authorizer loads the roles named in the client certificate for every call but
   * Ping; a role deleted since the certificate was issued fails the call with its NotFound.
   */
  checkRolesExist(method: RpcMethod, caller: CallerIdentity | undefined): void {
    if (method === "Ping" || !caller) return;
    const unknown = caller.roles.find((role) => this.roles[role] === undefined);
    if (unknown !== undefined) throw notFound(`role ${unknown} is not found`);
  }

  hasVerb(caller: CallerIdentity | undefined, resource: string, verb: string): boolean {
    return this.roleGrants(caller, (role) =>
      resource === KIND_ACCESS_REQUEST
        ? (role.accessRequest as string[]).includes(verb)
        : resource === KIND_ACCESS_PLUGIN_DATA
          ? ((role.pluginData ?? []) as string[]).includes(verb)
          : resource === KIND_USER
            ? ((role.user ?? []) as string[]).includes(verb)
            : resource === KIND_ACCESS_MONITORING_RULE
              ? ((role.accessMonitoringRule ?? []) as string[]).includes(verb)
              : false,
    );
  }

  /** AccessDenied `access denied to perform action "<verb>" on "<resource>"` (WIRE §6). */
  requireVerbs(caller: CallerIdentity | undefined, resource: string, ...verbs: string[]): void {
    for (const verb of verbs) {
      if (!this.hasVerb(caller, resource, verb)) {
        throw accessDenied(`access denied to perform action "${verb}" on "${resource}"`);
      }
    }
  }

  isAdmin(caller: CallerIdentity | undefined): boolean {
    return caller?.roles.includes(BUILTIN_ADMIN_ROLE) ?? false;
  }

  canReview(roles: string[]): boolean {
    return this.roleGrants({ user: "", roles }, (role) => role.review === true);
  }

  /** `review_requests.submit_for_users` of any of the caller's roles matches `author` (WIRE §9). */
  maySubmitFor(caller: CallerIdentity | undefined, author: string): boolean {
    return this.roleGrants(caller, (role) =>
      (role.submitForUsers ?? []).some((pattern) => pattern === "*" || pattern === author),
    );
  }

  private roleGrants(caller: CallerIdentity | undefined, grant: (role: RolePermissions) => boolean): boolean {
    return (caller?.roles ?? []).some((role) => {
      const permissions = this.roles[role];
      return permissions !== undefined && grant(permissions);
    });
  }
}
