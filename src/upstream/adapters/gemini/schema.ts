/**
 * A tool's JSON Schema as the `parameters` of a Gemini function declaration.
 *
 * `parameters` is Google's proto `Schema`, an OpenAPI 3.0 subset, not JSON Schema: an unknown
 * key fails the whole request with `400 Invalid JSON payload received. Unknown name "<kw>" at
 * 'tools[0].function_declarations[i].parameters…': Cannot find field.` (providers.md §2.3;
 * theopenco/llmgateway#1763, zed-industries/zed#44875), a type list with `Proto field is not
 * repeating, cannot start list.` (zed-industries/zed#53919), and a node with neither `type` nor
 * `anyOf` with `type: must be specified when not using one_of, any_of or all_of fields`
 * (danny-avila/LibreChat#6971). So the schema is rebuilt node by node from an allowlist:
 *
 * | JSON Schema                              | Gemini `Schema`                                        |
 * |------------------------------------------|--------------------------------------------------------|
 * | `$ref` (`#`, `#/$defs/X`, `#/definitions/X`, any local pointer) | the target inlined, siblings merged over it; a ref already expanded `MAX_REF_REPEATS` times on the path becomes a plain node of the target's type (recursion guard) |
 * | `type: [X, "null"]`                      | `type: X, nullable: true`                              |
 * | `type: [X, Y]`                           | `anyOf: [{type: X}, {type: Y}]`                        |
 * | `anyOf` / `oneOf`                        | `anyOf` (null branches become `nullable`; one branch left is inlined); beside `properties` or a scalar `type` they only narrow the node and are dropped |
 * | a map (`additionalProperties: {schema}`) | an object without properties (Gemini has no map type)  |
 * | `allOf`                                  | merged into one node (properties and required united)  |
 * | `const: "x"`                             | `enum: ["x"]`                                          |
 * | `enum` / `const` of non-strings          | dropped, the values listed in `description` (Gemini's `enum` is strings only) |
 * | `format`                                 | kept only where Gemini knows it: string `enum`/`date-time`, number `float`/`double`, integer `int32`/`int64` |
 * | no `type`                                | inferred: properties → object, items → array, enum → string, bounds → number/string, else string |
 * | array without `items`, tuple `items`, `prefixItems` | `items` of type string / the one item / `anyOf` of the items |
 * | `required`                               | only names present in `properties`                     |
 * | `$schema`, `$id`, `$comment`, `$defs`, `definitions`, `additionalProperties`, `strict`, `examples`, `example`, `default`, `title`, `exclusiveMinimum`, `multipleOf`, `propertyNames`, `patternProperties`, `not`, `if`/`then`/`else`, ... | dropped |
 *
 * `default`, `example` and `title` exist in the proto but Vertex-style front ends reject
 * `default` (BerriAI/litellm#6459) and none of them changes what the model may send, so they
 * go too: the allowlist is `SCHEMA_KEYS`. The root is always an object with `properties`
 * (an empty one is accepted: pydantic/pydantic-ai#1998, and the recordings' parameterless tools).
 */
import type { JsonObject } from "../../../protocol/responses.ts";

/** Every key a rewritten schema node may hold (tests assert nothing else survives). */
export const SCHEMA_KEYS: ReadonlySet<string> = new Set([
  "type",
  "format",
  "description",
  "nullable",
  "enum",
  "items",
  "properties",
  "required",
  "anyOf",
  "minItems",
  "maxItems",
  "minLength",
  "maxLength",
  "minProperties",
  "maxProperties",
  "minimum",
  "maximum",
  "pattern",
]);

type Type = "string" | "number" | "integer" | "boolean" | "array" | "object";

const TYPES: ReadonlySet<string> = new Set(["string", "number", "integer", "boolean", "array", "object", "null"]);

/** Formats the proto documents per type; any other `format` is a 400 or ignored, so it is dropped. */
const FORMATS: Readonly<Record<string, ReadonlySet<string>>> = {
  string: new Set(["enum", "date-time"]),
  number: new Set(["float", "double"]),
  integer: new Set(["int32", "int64"]),
};

/** How often one `$ref` may be expanded on one path: enough for a tree node's children, finite for recursion. */
const MAX_REF_REPEATS = 2;
/** Nesting beyond this is flattened to a typed leaf: no real tool needs it, and it bounds hostile input. */
const MAX_DEPTH = 32;

type Node = Record<string, unknown>;

const isNode = (value: unknown): value is Node => value !== null && typeof value === "object" && !Array.isArray(value);

const isCount = (value: unknown): value is number => typeof value === "number" && Number.isInteger(value) && value >= 0;

/** One rewrite: the root (for `$ref`) and the refs being expanded on the current path. */
class Rewrite {
  private readonly expanding: string[] = [];

  constructor(private readonly root: Node) {}

  /** A local JSON pointer (`#`, `#/$defs/X`, `#/definitions/X/properties/y`), or undefined. */
  private resolve(ref: string): unknown {
    if (ref === "#") return this.root;
    if (!ref.startsWith("#/")) return undefined;
    let at: unknown = this.root;
    for (const raw of ref.slice(2).split("/")) {
      const key = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
      if (!isNode(at)) return undefined;
      at = at[key];
    }
    return at;
  }

  /** `node` with its `$ref` inlined (siblings win) and its `allOf` merged: plain keywords only. */
  private flatten(node: Node, depth: number): { node: Node; pushed: number } {
    let pushed = 0;
    let current = node;
    // A chain of refs (`A` → `B` → ...) is followed until a node without one, each counted on the path.
    while (typeof current.$ref === "string") {
      const ref = current.$ref;
      const repeats = this.expanding.filter((seen) => seen === ref).length;
      const target = repeats < MAX_REF_REPEATS && depth < MAX_DEPTH ? this.resolve(ref) : undefined;
      const { $ref: _, ...siblings } = current;
      if (!isNode(target)) {
        // Recursion past the guard, or a ref that points nowhere: a leaf of the target's own type.
        const whole = this.resolve(ref);
        current = isNode(whole)
          ? { description: whole.description, ...siblings, type: leafType(whole) }
          : { ...siblings, type: "object" };
        break;
      }
      this.expanding.push(ref);
      pushed++;
      current = { ...target, ...siblings };
    }
    if (Array.isArray(current.allOf)) current = this.mergeAll(current, depth);
    return { node: current, pushed };
  }

  /** `allOf` as one node: the parts' properties and required lists united, other keywords first-wins. */
  private mergeAll(node: Node, depth: number): Node {
    const { allOf, ...own } = node;
    const merged: Node = { ...own };
    const properties: Node = isNode(own.properties) ? { ...own.properties } : {};
    const required = new Set<string>(
      Array.isArray(own.required) ? own.required.filter((r) => typeof r === "string") : [],
    );
    let sawProperties = isNode(own.properties);
    for (const part of allOf as unknown[]) {
      if (!isNode(part)) continue;
      const { node: flat, pushed } = this.flatten(part, depth + 1);
      this.expanding.length -= pushed;
      for (const [key, value] of Object.entries(flat)) {
        if (key === "properties" && isNode(value)) {
          sawProperties = true;
          Object.assign(properties, value);
        } else if (key === "required" && Array.isArray(value)) {
          for (const name of value) if (typeof name === "string") required.add(name);
        } else if (!(key in merged)) merged[key] = value;
      }
    }
    if (sawProperties) merged.properties = properties;
    if (required.size > 0) merged.required = [...required];
    return merged;
  }

  /** One schema node (any JSON value) as a Gemini `Schema`. */
  node(raw: unknown, depth: number): JsonObject {
    if (!isNode(raw)) return { type: "string" }; // `true` / `{}`-like: anything, which a string can carry
    const { node, pushed } = this.flatten(raw, depth);
    try {
      return this.plain(node, depth);
    } finally {
      this.expanding.length -= pushed;
    }
  }

  /** A node without `$ref`/`allOf`. */
  private plain(node: Node, depth: number): JsonObject {
    const description = typeof node.description === "string" && node.description !== "" ? node.description : undefined;
    let nullable = node.nullable === true;

    // `type` as a list: null means nullable; several types are several branches.
    let type: string | undefined;
    if (Array.isArray(node.type)) {
      const types = node.type.filter((t): t is string => typeof t === "string" && TYPES.has(t));
      if (types.includes("null")) nullable = true;
      const real = [...new Set(types.filter((t) => t !== "null"))];
      if (real.length > 1) {
        const branches = real.map((t) => this.typed({ ...node, type: t, description: undefined }, t as Type, depth));
        return withCommon({ anyOf: branches }, description, nullable);
      }
      type = real[0];
    } else if (typeof node.type === "string" && TYPES.has(node.type)) {
      type = node.type;
    }
    if (type === "null") {
      nullable = true;
      type = undefined;
    }

    // Alternatives, unless the node describes itself (then its `anyOf` only narrows it, e.g. `{required}`
    // branches over its properties: dropped). A bare `type: "object"` beside a union of objects is the union.
    const alternatives = Array.isArray(node.anyOf) ? node.anyOf : Array.isArray(node.oneOf) ? node.oneOf : undefined;
    if (alternatives !== undefined && (type === undefined || type === "object") && !isNode(node.properties)) {
      const branches: JsonObject[] = [];
      for (const alternative of alternatives) {
        if (depth >= MAX_DEPTH) break;
        if (isNode(alternative) && (alternative.type === "null" || isNullConst(alternative))) {
          nullable = true;
          continue;
        }
        branches.push(this.node(alternative, depth + 1));
      }
      if (branches.length === 1) {
        const only = branches[0];
        const merged: JsonObject = { ...only };
        if (description !== undefined) merged.description = description;
        if (nullable) merged.nullable = true;
        return order(merged);
      }
      if (branches.length > 1) return withCommon({ anyOf: branches }, description, nullable);
    }

    const inferred = (type as Type | undefined) ?? inferType(node);
    return this.typed({ ...node, description }, inferred, depth, nullable);
  }

  /** The node's keywords that apply to `type`. */
  private typed(node: Node, type: Type, depth: number, nullable = false): JsonObject {
    const out: JsonObject = { type };
    const format = typeof node.format === "string" ? node.format : undefined;
    if (format !== undefined && FORMATS[type]?.has(format)) out.format = format;
    let description = typeof node.description === "string" && node.description !== "" ? node.description : undefined;

    // `const` is a one-value `enum`; Gemini's `enum` holds strings only, other values are described.
    const values = node.const !== undefined ? [node.const] : Array.isArray(node.enum) ? node.enum : undefined;
    if (values !== undefined) {
      const strings = values.filter((v): v is string => typeof v === "string");
      if (values.includes(null)) nullable = true;
      if (type === "string" && strings.length > 0 && strings.length === values.filter((v) => v !== null).length) {
        out.enum = strings;
      } else {
        const listed = values.filter((v) => v !== null).map((v) => JSON.stringify(v)).join(", ");
        if (listed !== "") description = `${description === undefined ? "" : `${description} `}(one of: ${listed})`;
      }
    }

    switch (type) {
      case "string":
        if (isCount(node.minLength)) out.minLength = node.minLength;
        if (isCount(node.maxLength)) out.maxLength = node.maxLength;
        if (typeof node.pattern === "string") out.pattern = node.pattern;
        break;
      case "number":
      case "integer":
        if (typeof node.minimum === "number") out.minimum = node.minimum;
        if (typeof node.maximum === "number") out.maximum = node.maximum;
        break;
      case "array": {
        out.items = this.items(node, depth);
        if (isCount(node.minItems)) out.minItems = node.minItems;
        if (isCount(node.maxItems)) out.maxItems = node.maxItems;
        break;
      }
      case "object": {
        const properties: JsonObject = {};
        if (isNode(node.properties) && depth < MAX_DEPTH) {
          for (const [name, value] of Object.entries(node.properties)) properties[name] = this.node(value, depth + 1);
        }
        out.properties = properties;
        if (Array.isArray(node.required)) {
          const required = node.required.filter((name): name is string =>
            typeof name === "string" && Object.hasOwn(properties, name)
          );
          if (required.length > 0) out.required = [...new Set(required)];
        }
        if (isCount(node.minProperties)) out.minProperties = node.minProperties;
        if (isCount(node.maxProperties)) out.maxProperties = node.maxProperties;
        break;
      }
    }
    return withCommon(out, description, nullable);
  }

  /** `items` of an array node: a schema, a tuple (`items: [...]` or `prefixItems`), or none. */
  private items(node: Node, depth: number): JsonObject {
    const tuple = Array.isArray(node.prefixItems)
      ? node.prefixItems
      : Array.isArray(node.items)
      ? node.items
      : undefined;
    if (depth >= MAX_DEPTH) return { type: "string" };
    if (tuple !== undefined) {
      if (tuple.length === 0) return { type: "string" };
      if (tuple.length === 1) return this.node(tuple[0], depth + 1);
      return { anyOf: tuple.map((entry) => this.node(entry, depth + 1)) };
    }
    return isNode(node.items) ? this.node(node.items, depth + 1) : { type: "string" };
  }
}

const isNullConst = (node: Node): boolean =>
  node.const === null || (Array.isArray(node.enum) && node.enum.length === 1 && node.enum[0] === null);

/** The type a node without one stands for. */
const inferType = (node: Node): Type => {
  if (isNode(node.properties) || node.additionalProperties !== undefined || Array.isArray(node.required)) {
    return "object";
  }
  if (node.items !== undefined || Array.isArray(node.prefixItems)) return "array";
  const values = node.const !== undefined ? [node.const] : Array.isArray(node.enum) ? node.enum : undefined;
  if (values !== undefined) {
    const real = values.filter((v) => v !== null);
    if (real.length > 0 && real.every((v) => typeof v === "boolean")) return "boolean";
    if (real.length > 0 && real.every((v) => Number.isInteger(v))) return "integer";
    if (real.length > 0 && real.every((v) => typeof v === "number")) return "number";
    return "string";
  }
  if (typeof node.minimum === "number" || typeof node.maximum === "number") return "number";
  return "string";
};

/** The type a recursion leaf keeps: the target's own scalar type, else object. */
const leafType = (target: Node): Type => {
  const type = Array.isArray(target.type) ? target.type.find((t) => t !== "null") : target.type;
  return typeof type === "string" && TYPES.has(type) && type !== "null" ? type as Type : inferType(target);
};

/** Keys in one stable order (type first), so bodies compare and cache the same. */
const order = (node: JsonObject): JsonObject => {
  const out: JsonObject = {};
  for (const key of SCHEMA_KEYS) if (node[key] !== undefined) out[key] = node[key];
  return out;
};

const withCommon = (node: JsonObject, description: string | undefined, nullable: boolean): JsonObject => {
  if (description !== undefined) node.description = description;
  if (nullable) node.nullable = true;
  return order(node);
};

/**
 * A function tool's `parameters` (any JSON Schema, or nothing) as Gemini `parameters`: always
 * an object node with `properties`, since a function's arguments are an object.
 */
export const geminiParameters = (schema: unknown): JsonObject => {
  const root = isNode(schema) ? schema : {};
  const rewritten = new Rewrite(root).node(root, 0);
  if (rewritten.type === "object") return rewritten;
  // A root that is not an object (a bare anyOf, a scalar): the model still has to send an object.
  return { type: "object", properties: {} };
};
