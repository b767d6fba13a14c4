// Reading /openapi.json in tests: the document refers to its named schemas by $ref; tests that
// walk request and response schemas want them inline.

const SCHEMAS_PATH = '#/components/schemas/';

/** The value with every `#/components/schemas/…` $ref replaced by the schema it names (schemas of Purse are not recursive). */
export function inlineRefs<T>(value: T, schemas: Readonly<Record<string, unknown>>, depth = 0): T {
  if (depth > 64) throw new Error('$refs nest deeper than 64: a recursive schema?');
  if (Array.isArray(value)) return value.map((item: unknown) => inlineRefs(item, schemas, depth + 1)) as T;
  if (typeof value !== 'object' || value === null) return value;
  const ref = (value as { $ref?: unknown }).$ref;
  if (typeof ref === 'string' && ref.startsWith(SCHEMAS_PATH)) {
    const target = schemas[ref.slice(SCHEMAS_PATH.length)];
    if (target === undefined) throw new Error(`${ref} names no schema`);
    return inlineRefs(target, schemas, depth + 1) as T;
  }
  return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, inlineRefs(child, schemas, depth + 1)])) as T;
}

/** The document with its paths' $refs inlined. */
export function withInlineSchemas<D extends { paths: unknown; components?: { schemas?: Record<string, unknown> } }>(doc: D): D {
  return { ...doc, paths: inlineRefs(doc.paths, doc.components?.schemas ?? {}) };
}
