/**
 * Validates requests (and responses) against Mattermost's published OpenAPI 3.0 spec
 * (`../shared/mattermost-openapi/`, see its README), with the README's errata applied in memory.
 * Tests use it to prove that what our client sends is what the real API documents — the
 * stand-in alone could agree with a wrong client.
 */
import { AssertionError } from "node:assert";
import { fileURLToPath } from "node:url";
import type { ErrorObject, ValidateFunction } from "ajv";
import {
  at,
  DEFAULT_SPEC_PATH,
  deref,
  isObject,
  type Json,
  prepare,
  rewriteRefs,
  toJsonSchema,
} from "./openapi-spec.js";

export { DEFAULT_SPEC_PATH } from "./openapi-spec.js";

const HTTP_METHODS = ["get", "put", "post", "delete", "patch", "head", "options"] as const;

export interface RequestToValidate {
  method: string;
  /** Path including `/api/v4`, without query string. */
  path: string;
  query?: Record<string, string | string[]> | URLSearchParams;
  /** Parsed JSON body; undefined when the request had none. */
  body?: unknown;
}

export interface ResponseToValidate {
  method: string;
  path: string;
  status: number;
  /** Parsed JSON body; undefined when the response had none. */
  body?: unknown;
}

export interface OperationMatch {
  /** The spec's path template, e.g. `/api/v4/posts/{post_id}`. */
  template: string;
  method: string;
  operation: Json;
  pathParams: Record<string, string>;
}

export interface OpenApiValidator {
  /** Problems found (unknown path/method, missing or invalid params, body not matching); empty = valid. */
  validateRequest(request: RequestToValidate): string[];
  /** Problems with a response body for a documented status (undocumented status is a problem too). */
  validateResponse(response: ResponseToValidate): string[];
  findOperation(method: string, path: string): OperationMatch | undefined;
  /** The errata that were applied, one line each. */
  readonly errata: readonly string[];
}

function formatErrors(where: string, errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const extra =
      e.keyword === "additionalProperties"
        ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
        : "";
    return `${where}${e.instancePath} ${e.message ?? e.keyword}${extra}`;
  });
}

function coerce(value: string, schema: unknown): unknown {
  const type = at(schema, "type");
  if (type === "boolean") return value === "true" ? true : value === "false" ? false : value;
  if ((type === "integer" || type === "number") && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (type === "array") return value.split(",");
  return value;
}

/** Creates a validator over the spec at `specPath` (parsed once per path and cached). */
export function createOpenApiValidator(specPath: string | URL = DEFAULT_SPEC_PATH): OpenApiValidator {
  const p = prepare(typeof specPath === "string" ? specPath : fileURLToPath(specPath));

  const compile = (schema: object): ValidateFunction => {
    let fn = p.cache.get(schema);
    if (!fn) {
      fn = p.ajv.compile(rewriteRefs(toJsonSchema(schema)) as object);
      p.cache.set(schema, fn);
    }
    return fn;
  };

  const findOperation = (method: string, path: string): OperationMatch | undefined => {
    const lower = method.toLowerCase();
    for (const candidate of p.paths) {
      const match = candidate.regex.exec(path);
      const operation = candidate.item[lower];
      if (!match || !isObject(operation)) continue;
      const pathParams: Record<string, string> = {};
      candidate.names.forEach((name, i) => {
        const raw = match[i + 1] ?? "";
        try {
          pathParams[name] = decodeURIComponent(raw);
        } catch {
          pathParams[name] = raw;
        }
      });
      return { template: candidate.template, method: lower, operation, pathParams };
    }
    return undefined;
  };

  const parametersOf = (match: OperationMatch): Json[] => {
    const item = p.paths.find((c) => c.template === match.template)?.item ?? {};
    const all = [
      ...(Array.isArray(item["parameters"]) ? item["parameters"] : []),
      ...(Array.isArray(match.operation["parameters"]) ? match.operation["parameters"] : []),
    ];
    const byKey = new Map<string, Json>();
    for (const raw of all) {
      const param = deref(p.spec, raw);
      if (isObject(param)) byKey.set(`${String(param["in"])}:${String(param["name"])}`, param);
    }
    return [...byKey.values()];
  };

  const validateRequest = (request: RequestToValidate): string[] => {
    const label = `${request.method.toUpperCase()} ${request.path}`;
    const match = findOperation(request.method, request.path);
    if (!match) {
      const known = p.paths.filter((c) => c.regex.test(request.path));
      if (known.length === 0) return [`${label}: path is not in the spec`];
      const methods = [...new Set(known.flatMap((c) => HTTP_METHODS.filter((m) => isObject(c.item[m]))))];
      return [`${label}: method not documented for this path (spec has ${methods.join(", ").toUpperCase()})`];
    }
    const problems: string[] = [];
    const query: Record<string, string | string[]> = {};
    if (request.query instanceof URLSearchParams) {
      for (const key of new Set(request.query.keys())) {
        const all = request.query.getAll(key);
        query[key] = all.length === 1 ? (all[0] ?? "") : all;
      }
    } else if (request.query) {
      Object.assign(query, request.query);
    }
    const params = parametersOf(match);
    for (const param of params) {
      const name = String(param["name"]);
      const where = param["in"];
      let raw: string | string[] | undefined;
      if (where === "path") raw = match.pathParams[name];
      else if (where === "query") raw = query[name];
      else continue; // headers and cookies are not checked
      if (raw === undefined) {
        if (param["required"] === true)
          problems.push(`${label}: missing required ${String(where)} parameter "${name}"`);
        continue;
      }
      const schema = param["schema"];
      if (!isObject(schema)) continue;
      const value = Array.isArray(raw) ? raw.map((r) => coerce(r, at(schema, "items"))) : coerce(raw, schema);
      const validate = compile(schema);
      if (!validate(value))
        problems.push(...formatErrors(`${label}: ${String(where)} parameter "${name}"`, validate.errors));
    }
    const declaredQuery = new Set(params.filter((q) => q["in"] === "query").map((q) => String(q["name"])));
    for (const key of Object.keys(query)) {
      if (!declaredQuery.has(key)) problems.push(`${label}: query parameter "${key}" is not documented`);
    }
    const requestBody = deref(p.spec, match.operation["requestBody"]);
    if (request.body === undefined) {
      if (isObject(requestBody) && requestBody["required"] === true)
        problems.push(`${label}: request body is required`);
      return problems;
    }
    if (!isObject(requestBody)) {
      problems.push(`${label}: the spec documents no request body`);
      return problems;
    }
    const schema = at(requestBody, "content", "application/json", "schema");
    if (!isObject(schema)) {
      problems.push(`${label}: the spec documents no application/json request body`);
      return problems;
    }
    const validate = compile(schema);
    if (!validate(request.body)) problems.push(...formatErrors(`${label}: body`, validate.errors));
    return problems;
  };

  const validateResponse = (response: ResponseToValidate): string[] => {
    const label = `${response.method.toUpperCase()} ${response.path} → ${response.status}`;
    const match = findOperation(response.method, response.path);
    if (!match) return [`${label}: operation is not in the spec`];
    const responses = isObject(match.operation["responses"]) ? match.operation["responses"] : {};
    const documented =
      responses[String(response.status)] ??
      responses[`${String(response.status)[0]}XX`] ??
      responses["default"];
    if (documented === undefined) {
      return [`${label}: status not documented (spec has ${Object.keys(responses).join(", ")})`];
    }
    const schema = at(deref(p.spec, documented), "content", "application/json", "schema");
    if (!isObject(schema) || response.body === undefined) return [];
    const validate = compile(schema);
    return validate(response.body) ? [] : formatErrors(`${label}: body`, validate.errors);
  };

  return { validateRequest, validateResponse, findOperation, errata: p.errata };
}

/** The shape of a stand-in request-log entry that matters here. */
export interface LoggedRequest {
  method: string;
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  status?: number;
  responseBody?: unknown;
}

export interface AssertValidOptions {
  validator?: OpenApiValidator;
  /** Entries to skip (requests a test sent on purpose to provoke an error). */
  ignore?: (entry: LoggedRequest) => boolean;
  /** Also validate JSON bodies of 2xx responses (default false). */
  responses?: boolean;
}

/** Throws an AssertionError listing every request (and optionally response) that does not match the spec. */
export function assertRequestsValid(log: readonly LoggedRequest[], options: AssertValidOptions = {}): void {
  const validator = options.validator ?? createOpenApiValidator();
  const problems: string[] = [];
  for (const entry of log) {
    if (options.ignore?.(entry)) continue;
    problems.push(...validator.validateRequest(entry));
    const status = entry.status ?? 0;
    if (options.responses && status >= 200 && status < 300) {
      problems.push(
        ...validator.validateResponse({
          method: entry.method,
          path: entry.path,
          status,
          body: entry.responseBody,
        }),
      );
    }
  }
  if (problems.length > 0) {
    throw new AssertionError({
      message: `${problems.length} request(s) do not match the Mattermost OpenAPI spec:\n  ${problems.join("\n  ")}`,
    });
  }
}
