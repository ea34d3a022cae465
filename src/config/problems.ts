/**
 * A configuration's decode failure, as lines an operator can act on: each
 * problem by its path, and for an unknown key the known key it most likely
 * meant. A typo such as `modles` or `virtual_key` used to be dropped in
 * silence, leaving a gateway with no models or no keys that answered every
 * request 401.
 */
import * as SchemaAST from "effect/SchemaAST";
import * as SchemaIssue from "effect/SchemaIssue";

type PathSegment = PropertyKey | { readonly key: PropertyKey };

/** `providers.openai.keys[0].value`, or `(root)`. */
export const pathText = (path: ReadonlyArray<PathSegment>): string =>
  path.length === 0 ? "(root)" : path
    .map((segment) => typeof segment === "object" ? segment.key : segment)
    .map((key) => typeof key === "number" ? `[${key}]` : `.${String(key)}`)
    .join("")
    .replace(/^\./, "");

/** Optimal string alignment distance: Levenshtein plus one transposition (`modles` → `models` is 1). */
const distance = (a: string, b: string): number => {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
      }
    }
  }
  return rows[a.length][b.length];
};

/**
 * The known key `typed` most likely meant: the nearest within a third of its length (at least 2
 * edits), or one it is the start of (`cached` → `cached_input_per_mtok`); else undefined.
 */
export const closestKey = (typed: string, known: ReadonlyArray<string>): string | undefined => {
  const lower = typed.toLowerCase();
  let best: { key: string; score: number } | undefined;
  for (const key of known) {
    const edits = distance(lower, key.toLowerCase());
    const score = edits <= Math.max(2, Math.floor(typed.length / 3))
      ? edits
      : lower.length >= 3 && key.startsWith(lower)
      ? key.length - lower.length
      : undefined;
    if (score !== undefined && (best === undefined || score < best.score)) best = { key, score };
  }
  return best?.key;
};

const unknownKeyMessage = (typed: string, known: ReadonlyArray<string>): string => {
  const guess = closestKey(typed, known);
  return guess !== undefined
    ? `unknown key; did you mean "${guess}"?`
    : `unknown key; known keys here: ${known.join(", ")}`;
};

/** The keys an object schema declares (the struct an unexpected key was found in). */
const declaredKeys = (ast: SchemaAST.AST): ReadonlyArray<string> =>
  SchemaAST.isObjects(ast) ? ast.propertySignatures.map((p) => String(p.name)) : [];

/** Every unexpected key in the issue tree, by the path of the key itself, with the keys declared beside it. */
const unexpectedKeys = (issue: SchemaIssue.Issue): Map<string, ReadonlyArray<string>> => {
  const found = new Map<string, ReadonlyArray<string>>();
  const walk = (node: SchemaIssue.Issue, path: ReadonlyArray<PropertyKey>): void => {
    switch (node._tag) {
      case "Pointer":
        return walk(node.issue, [...path, ...node.path]);
      case "Composite":
      case "AnyOf":
        for (const child of node.issues) walk(child, path);
        return;
      case "Filter":
      case "Encoding":
        return walk(node.issue, path);
      case "UnexpectedKey":
        found.set(pathText(path), declaredKeys(node.ast));
        return;
    }
  };
  walk(issue, []);
  return found;
};

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1();

/** One line per problem, `path: message`, an unknown key with the key it most likely meant. */
export const describeIssue = (issue: SchemaIssue.Issue): ReadonlyArray<string> => {
  const unknown = unexpectedKeys(issue);
  return formatIssues(issue).issues.map((i) => {
    const path = pathText(i.path ?? []);
    const known = unknown.get(path);
    const typed = i.path?.at(-1);
    if (known === undefined || typed === undefined) return `${path}: ${i.message}`;
    const key = typeof typed === "object" ? typed.key : typed;
    return `${path}: ${unknownKeyMessage(String(key), known)}`;
  });
};
