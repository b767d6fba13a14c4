import { Type, type Static } from 'typebox';

import { RIGHTS } from '../auth/scopes.js';
import { BooleanQuery, named, PagingQuery, StringEnum } from '../schemas.js';

export const RightSchema = named('Right', StringEnum(RIGHTS));

export const UserSchema = named(
  'User',
  Type.Object({
    id: Type.Integer(),
    username: Type.String(),
    fullname: Type.String(),
    email: Type.String(),
    code: Type.String({ description: 'personal number' }),
    lang: Type.String(),
    phone: Type.String(),
    notes: Type.String(),
    isActive: Type.Boolean(),
    rights: Type.Array(RightSchema),
  }),
);
export type UserView = Static<typeof UserSchema>;

export const UserListSchema = named(
  'UserList',
  Type.Object({
    users: Type.Array(UserSchema),
    count: Type.Integer({ description: 'how many users match, over all pages' }),
  }),
);

const profile = {
  fullname: Type.String({ maxLength: 256 }),
  email: Type.String({ maxLength: 254, pattern: '^$|^[^\\s@]+@[^\\s@]+$' }),
  code: Type.String({ maxLength: 64 }),
  lang: Type.String({ maxLength: 16 }),
  phone: Type.String({ maxLength: 32 }),
  notes: Type.String({ maxLength: 2000 }),
  isActive: Type.Boolean(),
  rights: Type.Array(RightSchema, { maxItems: RIGHTS.length, uniqueItems: true, description: 'changing rights needs the admin right' }),
};

/** Credentials are write-only: accepted here, never returned, never logged. */
const credentials = {
  password: Type.String({ minLength: 8, maxLength: 256, writeOnly: true }),
  pin: Type.String({ pattern: '^[0-9]{4,16}$', writeOnly: true }),
  cards: Type.Array(Type.String({ pattern: '^[A-Za-z0-9:-]{4,64}$' }), { maxItems: 16, uniqueItems: true, writeOnly: true, description: 'login cards; replaces the set' }),
};

export const UsernameSchema = Type.String({ minLength: 1, maxLength: 128, pattern: '^\\S+$' });

export const CreateUserBody = Type.Object(
  {
    username: UsernameSchema,
    fullname: Type.Optional(profile.fullname),
    email: Type.Optional(profile.email),
    code: Type.Optional(profile.code),
    lang: Type.Optional(profile.lang),
    phone: Type.Optional(profile.phone),
    notes: Type.Optional(profile.notes),
    isActive: Type.Optional(profile.isActive),
    rights: Type.Optional(profile.rights),
    password: Type.Optional(credentials.password),
    pin: Type.Optional(credentials.pin),
    cards: Type.Optional(credentials.cards),
  },
  { additionalProperties: false, examples: [{ username: 'jdoe', fullname: 'John Doe', email: 'jdoe@example.org', password: 'jdoe-password', cards: ['04A2B3C4'] }] },
);
export type CreateUserInput = Static<typeof CreateUserBody>;

export const UpdateUserBody = Type.Partial(CreateUserBody, { additionalProperties: false, minProperties: 1, examples: [{ fullname: 'John Q. Doe', rights: ['chargeCredit'] }] });
export type UpdateUserInput = Static<typeof UpdateUserBody>;

const IsActiveFilter = BooleanQuery('active people or inactive ones, default 1');

export const FindUsersQuery = Type.Object(
  {
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'exact, case-insensitive' })),
    email: Type.Optional(Type.String({ minLength: 1, maxLength: 254, description: 'exact, case-insensitive' })),
    card: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    code: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    isActive: Type.Optional(IsActiveFilter),
    ...PagingQuery,
  },
  { additionalProperties: false },
);
export type FindUsersFilter = Static<typeof FindUsersQuery>;

export const ListUsersQuery = Type.Object({ ...PagingQuery }, { additionalProperties: false });
