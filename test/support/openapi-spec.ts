/**
 * Mattermost's published OpenAPI 3.0 spec (`../shared/mattermost-openapi/`, see its README) made
 * ready for validation: read once per path, the README's errata applied in memory, OpenAPI's
 * `nullable` turned into JSON Schema, `$ref`s pointed at one shared components schema, and the
 * path templates compiled most specific first. test/support/openapi.ts validates against it.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv, type ValidateFunction } from "ajv";

/** The spec, located relative to the repository (…/main/test/support → …/shared). */
export const DEFAULT_SPEC_PATH = fileURLToPath(
  new URL("../../../shared/mattermost-openapi/mattermost-openapi-v4.json", import.meta.url),
);

const COMPONENTS_ID = "mattermost-openapi-components";

export type Json = Record<string, unknown>;

export interface Prepared {
  spec: Json;
  paths: { template: string; regex: RegExp; names: string[]; literalSegments: number; item: Json }[];
  ajv: Ajv;
  errata: string[];
  cache: Map<object, ValidateFunction>;
}

const prepared = new Map<string, Prepared>();

export function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function at(root: unknown, ...keys: string[]): unknown {
  let node = root;
  for (const key of keys) {
    if (!isObject(node)) return undefined;
    node = node[key];
  }
  return node;
}

/** OpenAPI 3.0 `nullable: true` → JSON Schema `type: [T, "null"]` (or `anyOf` with null when there is no type). */
export function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!isObject(node)) return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) out[key] = toJsonSchema(value);
  if (out["nullable"] !== true) return out;
  delete out["nullable"];
  if (typeof out["type"] === "string") {
    out["type"] = [out["type"], "null"];
    if (Array.isArray(out["enum"])) out["enum"] = [...out["enum"], null];
    return out;
  }
  return { anyOf: [out, { type: "null" }] };
}

export function rewriteRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (!isObject(node)) return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] =
      key === "$ref" && typeof value === "string" && value.startsWith("#/")
        ? `${COMPONENTS_ID}${value}`
        : rewriteRefs(value);
  }
  return out;
}

/** Resolves a top-level `$ref` of a parameter / request body / response object. */
export function deref(spec: Json, node: unknown): unknown {
  let current = node;
  for (let i = 0; i < 10 && isObject(current) && typeof current["$ref"] === "string"; i++) {
    const pointer = (current["$ref"] as string).replace(/^#\//, "").split("/");
    current = at(spec, ...pointer.map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~")));
  }
  return current;
}

/** The errata of `shared/mattermost-openapi/README.md`, applied to the parsed spec. */
function applyErrata(spec: Json): string[] {
  const applied: string[] = [];
  const fail = (what: string): never => {
    throw new Error(
      `OpenAPI erratum no longer matches the spec (${what}); re-check shared/mattermost-openapi/README.md`,
    );
  };
  // 1. UpdatePost / PatchPost declare `props` as a string; the server wants an object.
  for (const template of ["/api/v4/posts/{post_id}", "/api/v4/posts/{post_id}/patch"]) {
    const props = at(
      spec,
      "paths",
      template,
      "put",
      "requestBody",
      "content",
      "application/json",
      "schema",
      "properties",
    );
    if (!isObject(props) || !isObject(props["props"])) fail(`PUT ${template} props`);
    (props as Json)["props"] = {
      description: "A general JSON property bag to attach to the post",
      type: "object",
    };
    applied.push(`1. PUT ${template}: props is an object`);
  }
  // 2. Team.policy_id is null on real servers.
  const team = at(spec, "components", "schemas", "Team", "properties");
  if (!isObject(team) || !isObject(team["policy_id"])) fail("Team.policy_id");
  (team as Json)["policy_id"] = { ...((team as Json)["policy_id"] as Json), nullable: true };
  applied.push("2. Team.policy_id is nullable");
  // 3. AppError also carries detailed_error and sometimes is_oauth.
  const appError = at(spec, "components", "schemas", "AppError", "properties");
  if (!isObject(appError)) fail("AppError");
  Object.assign(appError as Json, { detailed_error: { type: "string" }, is_oauth: { type: "boolean" } });
  applied.push("3. AppError has detailed_error and is_oauth");
  // 4. `/users/me` is `/users/{user_id}` with user_id = me: template matching covers it.
  if (!isObject(at(spec, "paths", "/api/v4/users/{user_id}", "get"))) fail("GET /api/v4/users/{user_id}");
  applied.push("4. /users/me matches /api/v4/users/{user_id}");
  // 5. The click takes {selected_option, cookie} and answers {status, trigger_id}.
  const click = at(spec, "paths", "/api/v4/posts/{post_id}/actions/{action_id}", "post");
  if (!isObject(click)) fail("POST /api/v4/posts/{post_id}/actions/{action_id}");
  const clickOp = click as Json;
  clickOp["requestBody"] = {
    required: false,
    content: {
      "application/json": {
        schema: {
          type: "object",
          properties: { selected_option: { type: "string" }, cookie: { type: "string" } },
        },
      },
    },
  };
  const ok = at(clickOp, "responses", "200");
  const okResponse = isObject(ok) ? ok : {};
  okResponse["content"] = {
    "application/json": {
      schema: { type: "object", properties: { status: { type: "string" }, trigger_id: { type: "string" } } },
    },
  };
  (clickOp["responses"] as Json)["200"] = okResponse;
  applied.push(
    "5. POST /posts/{post_id}/actions/{action_id} body {selected_option, cookie}, reply {status, trigger_id}",
  );
  // 6. and 7. are descriptive (rate-limit headers, integration callbacks): nothing to patch.
  // Not in the README: `GET /config/client` needs `?format=old` (MATTERMOST-API.md §1; without it
  // the server answers 501 api.config.client.old_format.app_error) but the spec lists no parameter.
  const clientConfig = at(spec, "paths", "/api/v4/config/client", "get");
  if (!isObject(clientConfig)) fail("GET /api/v4/config/client");
  const configOp = clientConfig as Json;
  configOp["parameters"] = [
    ...(Array.isArray(configOp["parameters"]) ? configOp["parameters"] : []),
    { name: "format", in: "query", required: true, schema: { type: "string", enum: ["old"] } },
  ];
  applied.push("GET /config/client takes the required query parameter format=old (MATTERMOST-API.md §1)");
  return applied;
}

export function prepare(specPath: string): Prepared {
  const cached = prepared.get(specPath);
  if (cached) return cached;
  if (!existsSync(specPath)) {
    throw new Error(
      `Mattermost OpenAPI spec not found at ${specPath}. It lives in ../shared/mattermost-openapi/ next to the repository (see shared/mattermost-openapi/README.md); check out the shared folder or pass the spec path to createOpenApiValidator().`,
    );
  }
  const spec = JSON.parse(readFileSync(specPath, "utf8")) as Json;
  const errata = applyErrata(spec);
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, logger: false });
  ajv.addSchema({ $id: COMPONENTS_ID, components: toJsonSchema(spec["components"]) });
  const paths = Object.entries(isObject(spec["paths"]) ? spec["paths"] : {}).map(([template, item]) => {
    const names: string[] = [];
    const segments = template.split("/");
    const source = segments
      .map((segment) =>
        segment.replace(/\{([^}]+)\}|[^{]+/g, (part, name?: string) => {
          if (name) {
            names.push(name);
            return "([^/]+)";
          }
          return part.replace(/[.*+?^$()|[\]\\]/g, "\\$&");
        }),
      )
      .join("/");
    const literalSegments = segments.filter((s) => s !== "" && !s.includes("{")).length;
    return { template, regex: new RegExp(`^${source}$`), names, literalSegments, item: item as Json };
  });
  // Most specific first: `/users/ids` before `/users/{user_id}`.
  paths.sort((a, b) => b.literalSegments - a.literalSegments);
  const result: Prepared = { spec, paths, ajv, errata, cache: new Map() };
  prepared.set(specPath, result);
  return result;
}
