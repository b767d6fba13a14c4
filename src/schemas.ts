// Schemas shared by every module: the error body, ids, paging, amounts, query dates and booleans;
// and the names under which the OpenAPI document publishes shared shapes.
import { Type, type Static, type TInteger, type TSchema, type TString, type TUnknown, type TUnsafe } from 'typebox';

/** JSON Schema as the OpenAPI document shows it; may hold TypeBox schemas, named ones among them. */
export type DocumentedSchema = Readonly<Record<string, unknown>>;

// Kept in symbol-keyed properties, not in keywords: Ajv, fast-json-stringify and JSON never see them,
// so Fastify validates and serializes every route exactly as before and only the document sees the
// names; and TypeBox carries them into the copy Type.Optional makes.
const NAME = Symbol('OpenAPI name');
const DOCUMENTED = Symbol('OpenAPI form');
const NAMED = new Map<string, TSchema>();

type Marked = Partial<Record<typeof NAME, string> & Record<typeof DOCUMENTED, DocumentedSchema>>;

/**
 * Publishes a schema under a name: the OpenAPI document shows it once, in components.schemas, and
 * refers to it by `$ref` wherever a route uses it.
 */
export function named<T extends TSchema>(name: string, schema: T): T {
  if (NAMED.has(name)) throw new Error(`two schemas are named ${name}`);
  Object.defineProperty(schema, NAME, { value: name });
  NAMED.set(name, schema);
  return schema;
}

/**
 * How the document shows a field that validation takes loosely on purpose (an amount is checked
 * exactly by money.ts, card data by the gateway, each naming the field): what a client should send.
 */
export function documentedAs<T extends TSchema>(schema: T, doc: DocumentedSchema): T {
  Object.defineProperty(schema, DOCUMENTED, { value: doc });
  return schema;
}

export const nameOf = (schema: object): string | undefined => (schema as Marked)[NAME];
export const documentedFormOf = (schema: object): DocumentedSchema | undefined => (schema as Marked)[DOCUMENTED];
/** Every named schema, by name. */
export const namedSchemas = (): ReadonlyMap<string, TSchema> => NAMED;

export const ErrorDetailSchema = named(
  'ErrorDetail',
  Type.Object({
    field: Type.Optional(Type.String({ description: 'where: `body.params.amount`, `querystring.limit`, `header.idempotency-key`' })),
    problem: Type.String(),
  }),
);

export const ErrorBodySchema = named(
  'Error',
  Type.Object(
    {
      code: Type.Integer({ description: 'HTTP-like status; may differ from the HTTP status' }),
      message: Type.String(),
      data: Type.Array(ErrorDetailSchema),
      error: Type.Optional(Type.String({ description: 'RFC 6749 error code (token endpoint only)' })),
      error_description: Type.Optional(Type.String()),
    },
    { description: 'Every error, everywhere' },
  ),
);

/**
 * An amount in major units. Validation takes any value and money.ts converts it exactly, naming the
 * field when it cannot (schema coercion would turn "1e2" into 100 and true into 1).
 */
export function Amount(description: string): TUnknown {
  // Typed unknown for the handlers too: validation lets anything through to money.ts.
  return documentedAs(Type.Unknown({ description }), {
    type: ['number', 'string'],
    pattern: '^-?[0-9]+(\\.[0-9]+)?$',
    description: `${description}. A JSON number or decimal text (13, 13.5, "13.50"), at most the currency's decimals.`,
  });
}

export type ErrorBody = Static<typeof ErrorBodySchema>;

/** Response entries for the errors any guarded route can give. */
export const errorResponses = (...statuses: number[]): Record<number, typeof ErrorBodySchema> =>
  Object.fromEntries(statuses.map((status) => [status, ErrorBodySchema]));

// Enums and nullables as plain JSON-schema `enum` and type arrays, not `anyOf`: fast-json-stringify
// serializes an anyOf by validating each branch per value, which dominated 100-row list responses.

/** One of these strings. */
export function StringEnum<const T extends readonly string[]>(values: T, options: { description?: string } = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** A string or null. */
export const NullableString = (options: { description?: string } = {}): TUnsafe<string | null> => Type.Unsafe<string | null>({ type: ['string', 'null'], ...options });

/** An integer or null. */
export const NullableInteger = (options: { description?: string } = {}): TUnsafe<number | null> => Type.Unsafe<number | null>({ type: ['integer', 'null'], ...options });

/** A number or null. */
export const NullableNumber = (options: { description?: string } = {}): TUnsafe<number | null> => Type.Unsafe<number | null>({ type: ['number', 'null'], ...options });

export const MAX_PAGE_LIMIT = 1000;

export const PagingQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, default: 100, description: 'page size' })),
  start: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0, description: 'rows to skip' })),
};

/**
 * A point in time in a query: a date (`2026-01-01`, its midnight UTC) or a date-time with or without
 * an offset. Read with time.ts `isoToMs`, as every date a client sends is.
 */
export const DateTimeQuery = (description: string): TString => Type.String({ minLength: 1, maxLength: 40, description: `${description}; a date (2026-01-01, midnight UTC) or a date-time (2026-01-01T12:00:00+01:00; UTC when no offset is given)` });

export const BOOLEAN_TEXTS = ['1', '0', 'true', 'false'] as const;
export type BooleanText = (typeof BOOLEAN_TEXTS)[number];

/** A yes/no in a query, as MyQ clients write it: 1, 0, true or false. Read with `booleanOf`. */
export const BooleanQuery = (description: string): TUnsafe<BooleanText> => StringEnum(BOOLEAN_TEXTS, { description: `${description}; 1, 0, true or false` });

export function booleanOf(text: BooleanText | undefined): boolean | undefined {
  return text === undefined ? undefined : text === '1' || text === 'true';
}

/** A row id: a positive integer the engines store exactly (a larger number is a 400, never a database error). */
export const IdSchema = (options: { description?: string } = {}): TInteger => Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, examples: [1], ...options });

export const IdParam = Type.Object({ id: IdSchema() });
