/**
 * What an access monitoring rule's condition means for a request: the variables, functions and
 * methods Teleport's plugins give conditions (lib/accessmonitoring/request_mapping.go on
 * lib/expression DefaultParserSpec), typed when the condition is compiled — as Teleport's typical
 * parser does, so a condition Teleport refuses is refused here too — and evaluated against a
 * request. Pure.
 *
 * Supported: `access_request.spec.{roles, suggested_reviewers, user, request_reason,
 * system_annotations, requested_resources.length}`, `user.traits`, `true`, `false`; functions
 * `set`, `union`, `contains_any`, `contains_all`, `is_empty`; methods `contains`, `contains_any`,
 * `contains_all`, `isempty`, `add`; `==`/`!=` on strings and integers; `!`, `&&`, `||`.
 * Not supported (the rule is skipped with a warning): time fields and functions, resource labels
 * (`resource_labels_intersection`/`_union`, `has_labels`: they need the resources' labels, which
 * this plugin does not read), string and regexp helpers.
 */
import { AppError } from "../errors.js";
import { type Expr, parseCondition } from "./condition-syntax.js";

type ValueType = "bool" | "string" | "int" | "set" | "dict";
type Set_ = ReadonlySet<string>;
type Dict = ReadonlyMap<string, Set_>;
type Value = boolean | string | number | Set_ | Dict;

/** What a condition can see of a request. */
export interface ConditionEnv {
  roles: readonly string[];
  suggestedReviewers: readonly string[];
  user: string;
  requestReason: string;
  systemAnnotations: Readonly<Record<string, readonly string[]>>;
  /** How many resources a resource request names. */
  requestedResources: number;
  /** The requesting user's traits (needs `read` on `user`; empty when not readable). */
  traits: Readonly<Record<string, readonly string[]>>;
}

export interface CompiledCondition {
  /** True when the request matches. */
  evaluate(env: ConditionEnv): boolean;
  /** The condition reads `user.traits`, so the requesting user must be looked up first. */
  usesTraits: boolean;
}

interface Typed {
  type: ValueType;
  run(env: ConditionEnv): Value;
}

interface Signature {
  params: ValueType[];
  /** Type of further arguments, for variadic functions. */
  rest?: ValueType;
  result: ValueType;
  apply(args: Value[]): Value;
}

const dictOf = (record: Readonly<Record<string, readonly string[]>>): Dict =>
  new Map(Object.entries(record).map(([key, values]) => [key, new Set(values)]));

const VARIABLES: Record<string, { type: ValueType; get(env: ConditionEnv): Value }> = {
  true: { type: "bool", get: () => true },
  false: { type: "bool", get: () => false },
  "access_request.spec.roles": { type: "set", get: (env) => new Set(env.roles) },
  "access_request.spec.suggested_reviewers": { type: "set", get: (env) => new Set(env.suggestedReviewers) },
  "access_request.spec.system_annotations": { type: "dict", get: (env) => dictOf(env.systemAnnotations) },
  "access_request.spec.user": { type: "string", get: (env) => env.user },
  "access_request.spec.request_reason": { type: "string", get: (env) => env.requestReason },
  "access_request.spec.requested_resources.length": { type: "int", get: (env) => env.requestedResources },
  "user.traits": { type: "dict", get: (env) => dictOf(env.traits) },
};
const TRAITS = "user.traits";

const asSet = (value: Value) => value as Set_;
const containsAny = (a: Set_, b: Set_) => [...b].some((item) => a.has(item));
// lib/expression: contains_all of an empty second set is false.
const containsAll = (a: Set_, b: Set_) => b.size > 0 && [...b].every((item) => a.has(item));

const FUNCTIONS: Record<string, Signature> = {
  set: { params: [], rest: "string", result: "set", apply: (args) => new Set(args as string[]) },
  union: {
    params: [],
    rest: "set",
    result: "set",
    apply: (args) => new Set(args.flatMap((set) => [...asSet(set)])),
  },
  contains_any: {
    params: ["set", "set"],
    result: "bool",
    apply: ([a, b]) => containsAny(asSet(a as Value), asSet(b as Value)),
  },
  contains_all: {
    params: ["set", "set"],
    result: "bool",
    apply: ([a, b]) => containsAll(asSet(a as Value), asSet(b as Value)),
  },
  is_empty: { params: ["set"], result: "bool", apply: ([a]) => asSet(a as Value).size === 0 },
};

/** Methods take their receiver as the first parameter. */
const METHODS: Record<string, Signature> = {
  contains: {
    params: ["set", "string"],
    result: "bool",
    apply: ([a, b]) => asSet(a as Value).has(b as string),
  },
  contains_any: FUNCTIONS["contains_any"] as Signature,
  contains_all: FUNCTIONS["contains_all"] as Signature,
  isempty: FUNCTIONS["is_empty"] as Signature,
  add: {
    params: ["set"],
    rest: "string",
    result: "set",
    apply: ([a, ...more]) => new Set([...asSet(a as Value), ...(more as string[])]),
  },
};

function invalid(message: string): AppError {
  return new AppError("TELEPORT", message);
}

class Compiler {
  usesTraits = false;

  compile(expr: Expr): Typed {
    switch (expr.kind) {
      case "string":
        return { type: "string", run: () => expr.value };
      case "int":
        return { type: "int", run: () => expr.value };
      case "name":
        return this.name(expr.path);
      case "index": {
        const target = this.compile(expr.target);
        const key = this.compile(expr.key);
        if (target.type !== "dict") throw invalid(`cannot take index of unexpected type ${target.type}`);
        this.expect(key, "string", "key of index expression");
        return {
          type: "set",
          run: (env) => (target.run(env) as Dict).get(key.run(env) as string) ?? new Set(),
        };
      }
      case "call":
        return this.call(expr.name, expr.args);
      case "method": {
        const signature = METHODS[expr.name];
        if (!signature) throw invalid(`unsupported method: ${expr.name}`);
        return this.apply(expr.name, signature, [expr.target, ...expr.args]);
      }
      case "not": {
        const operand = this.compile(expr.operand);
        this.expect(operand, "bool", "target of (!) operator");
        return { type: "bool", run: (env) => !operand.run(env) };
      }
      case "and":
      case "or": {
        const symbol = expr.kind === "and" ? "&&" : "||";
        const left = this.compile(expr.left);
        const right = this.compile(expr.right);
        this.expect(left, "bool", `lhs of (${symbol}) operator`);
        this.expect(right, "bool", `rhs of (${symbol}) operator`);
        return expr.kind === "and"
          ? { type: "bool", run: (env) => (left.run(env) as boolean) && (right.run(env) as boolean) }
          : { type: "bool", run: (env) => (left.run(env) as boolean) || (right.run(env) as boolean) };
      }
      case "eq":
      case "neq": {
        const symbol = expr.kind === "eq" ? "==" : "!=";
        const left = this.compile(expr.left);
        const right = this.compile(expr.right);
        // typical compares strings and integers only.
        if (left.type !== "string" && left.type !== "int") {
          throw invalid(`operator (${symbol}) not supported for type: ${left.type}`);
        }
        this.expect(right, left.type, `rhs of (${symbol}) operator`);
        const equal = (env: ConditionEnv) => left.run(env) === right.run(env);
        return { type: "bool", run: expr.kind === "eq" ? equal : (env) => !equal(env) };
      }
    }
  }

  /** typical's getIdentifier: the shortest known prefix; one part left over indexes a map. */
  private name(path: string[]): Typed {
    for (let length = 1; length <= path.length; length++) {
      const joined = path.slice(0, length).join(".");
      const variable = VARIABLES[joined];
      if (!variable) continue;
      if (joined === TRAITS) this.usesTraits = true;
      if (length === path.length) return { type: variable.type, run: variable.get };
      if (length === path.length - 1 && variable.type === "dict") {
        const key = path[length] as string;
        return { type: "set", run: (env) => (variable.get(env) as Dict).get(key) ?? new Set() };
      }
    }
    throw invalid(`unknown identifier: ${JSON.stringify(path.join("."))}`);
  }

  /** A function of that dotted name, else the method named by its last part (predicate's rule). */
  private call(name: string, args: Expr[]): Typed {
    const fn = FUNCTIONS[name];
    if (fn) return this.apply(name, fn, args);
    const dot = name.lastIndexOf(".");
    const method = dot > 0 ? METHODS[name.slice(dot + 1)] : undefined;
    if (!method) throw invalid(`unsupported function: ${name}`);
    const receiver: Expr = { kind: "name", path: name.slice(0, dot).split(".") };
    return this.apply(name.slice(dot + 1), method, [receiver, ...args]);
  }

  private apply(name: string, signature: Signature, args: Expr[]): Typed {
    const { params, rest } = signature;
    if (rest === undefined ? args.length !== params.length : args.length < params.length) {
      const wanted = rest === undefined ? `${params.length}` : `${params.length} or more`;
      throw invalid(`function (${name}) accepts ${wanted} arguments, given ${args.length}`);
    }
    const compiled = args.map((arg, i) => {
      const typed = this.compile(arg);
      this.expect(typed, (params[i] ?? rest) as ValueType, `argument ${i + 1} to function (${name})`);
      return typed;
    });
    return {
      type: signature.result,
      run: (env) => signature.apply(compiled.map((arg) => arg.run(env))),
    };
  }

  private expect(typed: Typed, type: ValueType, what: string): void {
    if (typed.type !== type) {
      throw invalid(`parsing ${what}: expected type ${type}, got expression returning type ${typed.type}`);
    }
  }
}

/**
 * Parses and types a rule's condition. Throws an AppError naming what is wrong; Teleport's
 * plugins skip such a rule (lib/accessmonitoring EvaluateRules), and so does this one.
 */
export function compileCondition(text: string): CompiledCondition {
  const compiler = new Compiler();
  const typed = compiler.compile(parseCondition(text));
  // Teleport counts a non-boolean result as "no match"; saying so helps whoever wrote it.
  if (typed.type !== "bool") throw invalid(`the condition is a ${typed.type}, not a boolean`);
  return { evaluate: (env) => typed.run(env) === true, usesTraits: compiler.usesTraits };
}
