// Schemas shared by every module: the error body, ids and paging.
import { Type, type Static, type TString, type TUnsafe } from 'typebox';

export const ErrorDetailSchema = Type.Object({
  field: Type.Optional(Type.String()),
  problem: Type.String(),
});

export const ErrorBodySchema = Type.Object(
  {
    code: Type.Integer({ description: 'HTTP-like status; may differ from the HTTP status' }),
    message: Type.String(),
    data: Type.Array(ErrorDetailSchema),
    error: Type.Optional(Type.String({ description: 'RFC 6749 error code (token endpoint only)' })),
    error_description: Type.Optional(Type.String()),
  },
  { description: 'Every error, everywhere' },
);

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

export const IdParam = Type.Object({
  id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
});
