import { Type } from 'typebox';

import { Amount, named, PagingQuery } from '../schemas.js';

export const GenerateBatchBody = Type.Object(
  {
    quantity: Type.Integer({ minimum: 1, maximum: 100_000 }),
    value: Amount('value of each voucher, major units'),
    validUntil: Type.String({ maxLength: 40, description: 'a date (valid through that day, UTC) or a date-time' }),
    prefix: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9]{0,12}$', description: 'printed before each code, e.g. SCHOOL' })),
    description: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false, examples: [{ quantity: 3, value: 5, validUntil: '2027-12-31', prefix: 'SCHOOL', description: 'school year 2027' }] },
);

export const BatchSchema = named('VoucherBatch', Type.Object({
  id: Type.Integer(),
  value: Type.Number(),
  currency: Type.String(),
  validUntil: Type.String({ format: 'date-time' }),
  prefix: Type.String(),
  description: Type.String(),
  created: Type.String({ format: 'date-time' }),
  createdBy: Type.String(),
  expired: Type.Boolean({ description: 'the batch was expired by hand or is past validUntil' }),
  issued: Type.Integer(),
  redeemed: Type.Integer(),
  reserved: Type.Integer({ description: 'held by uncommitted payments' }),
  expiredCount: Type.Integer({ description: 'vouchers that can no longer be redeemed' }),
  valueOutstanding: Type.Number({ description: 'value still redeemable' }),
}));

export const GeneratedBatchSchema = named(
  'GeneratedVoucherBatch',
  Type.Object({
    ...BatchSchema.properties,
    codes: Type.Array(Type.String(), { description: 'shown this once; only keyed hashes are stored' }),
  }),
);

export const BatchListSchema = named('VoucherBatchList', Type.Object({ batches: Type.Array(BatchSchema), count: Type.Integer() }));

export const BatchListQuery = Type.Object({ ...PagingQuery }, { additionalProperties: false });

export const BatchParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, examples: [1] }) });
