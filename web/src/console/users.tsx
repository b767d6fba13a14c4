// People: find them, create them, and edit one (profile, active, password, PIN, rights, login cards).
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';

import { api, call, idempotencyKey, type Schemas } from '../api/client';
import type { paths } from '../api/schema';
import { currentPerson, hasRight } from '../auth/session';
import { Field, FieldProblems, Form, Select } from '../ui/form';
import { useLoad } from '../ui/load';
import { PageTitle, Show, Table, type Column } from '../ui/parts';

import { ActionButton, Checkbox, Checkboxes, PAGE_SIZE, Pager, TextArea, listOf, yesNo } from './common';

type User = Schemas['User'];
type Right = Schemas['Right'];

export const RIGHTS: { value: Right; label: string }[] = [
  { value: 'admin', label: 'Administrator (every right)' },
  { value: 'manageUsers', label: 'Manage people' },
  { value: 'rechargeCredit', label: 'Recharge credit' },
  { value: 'chargeCredit', label: 'Charge credit' },
  { value: 'managePayments', label: 'Manage payments' },
  { value: 'manageVouchers', label: 'Manage vouchers' },
  { value: 'manageSettings', label: 'Manage settings' },
];

function rightsOf(values: string[]): Right[] {
  return RIGHTS.filter((right) => values.includes(right.value)).map((right) => right.value);
}

function displayName(user: User): string {
  return user.fullname === '' ? user.username : `${user.fullname} (${user.username})`;
}

const COLUMNS: Column<User>[] = [
  { label: 'Username', cell: (user) => <a href={`/console/users/${user.id}`}>{user.username}</a> },
  { label: 'Name', cell: (user) => user.fullname },
  { label: 'Email', cell: (user) => user.email },
  { label: 'Active', cell: (user) => yesNo(user.isActive) },
  { label: 'Rights', cell: (user) => (user.rights.length === 0 ? '—' : user.rights.join(', ')) },
];

interface Search {
  username: string;
  email: string;
  card: string;
  code: string;
  isActive: '' | 'true' | 'false';
}

const NO_SEARCH: Search = { username: '', email: '', card: '', code: '', isActive: '' };

function loadPeople(search: Search, start: number): Promise<Schemas['UserList']> {
  const query = {
    ...(search.username === '' ? {} : { username: search.username }),
    ...(search.email === '' ? {} : { email: search.email }),
    ...(search.card === '' ? {} : { card: search.card }),
    ...(search.code === '' ? {} : { code: search.code }),
    ...(search.isActive === '' ? {} : { isActive: search.isActive }),
  };
  if (Object.keys(query).length === 0) return call(api.GET('/v3/users', { params: { query: { limit: PAGE_SIZE, start } } }));
  return call(api.GET('/v3/users/find', { params: { query: { ...query, limit: PAGE_SIZE, start } } }));
}

export function UsersPage(): JSX.Element {
  const [draft, setDraft] = useState<Search>(NO_SEARCH);
  const [search, setSearch] = useState<Search>(NO_SEARCH);
  const [start, setStart] = useState(0);
  const people = useLoad(() => loadPeople(search, start), [search, start]);
  return (
    <>
      <PageTitle
        actions={
          <a class="button button-primary" href="/console/users/new">
            New person
          </a>
        }
      >
        People
      </PageTitle>
      <FieldProblems value={people.status === 'failed' ? people.problem : undefined}>
        <form
          class="filters"
          aria-label="Find people"
          onSubmit={(event) => {
            event.preventDefault();
            setSearch(draft);
            setStart(0);
          }}
        >
          <Field name="username" label="Username" value={draft.username} onInput={(username) => { setDraft({ ...draft, username }); }} />
          <Field name="email" label="Email" value={draft.email} onInput={(email) => { setDraft({ ...draft, email }); }} />
          <Field name="card" label="Card" value={draft.card} onInput={(card) => { setDraft({ ...draft, card }); }} />
          <Field name="code" label="Code" value={draft.code} onInput={(code) => { setDraft({ ...draft, code }); }} />
          <Select
            name="isActive"
            label="Active"
            value={draft.isActive}
            onInput={(isActive) => { setDraft({ ...draft, isActive: isActive === 'true' || isActive === 'false' ? isActive : '' }); }}
            options={[
              { value: '', label: 'Any' },
              { value: 'true', label: 'Active' },
              { value: 'false', label: 'Inactive' },
            ]}
          />
          <div class="filters-actions">
            <button type="submit" class="button button-primary">
              Find
            </button>
            <button type="button" class="button button-quiet" onClick={() => { setDraft(NO_SEARCH); setSearch(NO_SEARCH); setStart(0); }}>
              Clear
            </button>
          </div>
        </form>
      </FieldProblems>
      <Show loaded={people}>
        {(data) => (
          <>
            <Table caption="People" columns={COLUMNS} rows={data.users} rowKey={(user) => user.id} empty="Nobody matches." />
            <Pager label="People pages" start={start} shown={data.users.length} count={data.count} onPage={setStart} />
          </>
        )}
      </Show>
    </>
  );
}

interface Profile {
  username: string;
  fullname: string;
  email: string;
  code: string;
  phone: string;
  lang: string;
  notes: string;
}

function profileOf(user: User): Profile {
  return { username: user.username, fullname: user.fullname, email: user.email, code: user.code, phone: user.phone, lang: user.lang, notes: user.notes };
}

function ProfileFields({ profile, onInput }: { profile: Profile; onInput: (profile: Profile) => void }): JSX.Element {
  return (
    <>
      <div class="field-row">
        <Field name="username" label="Username" hint="No spaces." value={profile.username} onInput={(username) => { onInput({ ...profile, username }); }} autocomplete="off" required />
        <Field name="fullname" label="Full name" value={profile.fullname} onInput={(fullname) => { onInput({ ...profile, fullname }); }} autocomplete="off" />
      </div>
      <div class="field-row">
        <Field name="email" label="Email" type="email" value={profile.email} onInput={(email) => { onInput({ ...profile, email }); }} autocomplete="off" />
        <Field name="phone" label="Phone" type="tel" value={profile.phone} onInput={(phone) => { onInput({ ...profile, phone }); }} autocomplete="off" />
      </div>
      <div class="field-row">
        <Field name="code" label="Code" hint="Your own reference for the person (a student number)." value={profile.code} onInput={(code) => { onInput({ ...profile, code }); }} />
        <Field name="lang" label="Language" hint="For example en or pt-PT." value={profile.lang} onInput={(lang) => { onInput({ ...profile, lang }); }} />
      </div>
      <TextArea name="notes" label="Notes" rows={3} value={profile.notes} onInput={(notes) => { onInput({ ...profile, notes }); }} />
    </>
  );
}

const CARDS_HINT = 'One card number a line (letters, digits, colons and dashes). Saving replaces every card the person has.';

export function NewUserPage(): JSX.Element {
  const { route } = useLocation();
  const [profile, setProfile] = useState<Profile>({ username: '', fullname: '', email: '', code: '', phone: '', lang: '', notes: '' });
  const [password, setPassword] = useState('');
  const [pin, setPin] = useState('');
  const [cards, setCards] = useState('');
  const [rights, setRights] = useState<string[]>([]);
  const [active, setActive] = useState(true);
  const create = async (): Promise<void> => {
    const body = {
      ...profile,
      isActive: active,
      rights: rightsOf(rights),
      ...(password === '' ? {} : { password }),
      ...(pin === '' ? {} : { pin }),
      ...(listOf(cards).length === 0 ? {} : { cards: listOf(cards) }),
    };
    const user = await call(api.POST('/v3/users', { params: { header: { 'Idempotency-Key': idempotencyKey() } }, body }));
    route(`/console/users/${user.id}`);
  };
  return (
    <>
      <PageTitle>New person</PageTitle>
      <p>
        <a href="/console/users">Back to people</a>
      </p>
      <Form onSubmit={create} submitLabel="Create">
        <ProfileFields profile={profile} onInput={setProfile} />
        <div class="field-row">
          <Field name="password" label="Password" type="password" hint="At least 8 characters; leave empty for card-only login." value={password} onInput={setPassword} autocomplete="new-password" />
          <Field name="pin" label="PIN" type="password" hint="4 to 16 digits, for card login." value={pin} onInput={setPin} inputMode="numeric" autocomplete="off" />
        </div>
        <TextArea name="cards" label="Login cards" hint={CARDS_HINT} rows={2} value={cards} onInput={setCards} />
        <Checkboxes name="rights" legend="Rights" options={RIGHTS} value={rights} onInput={setRights} />
        <Checkbox name="isActive" label="Active (may log in)" checked={active} onInput={setActive} />
      </Form>
    </>
  );
}

type UserPatch = paths['/v3/users/{id}']['patch']['requestBody']['content']['application/json'];

function patchUser(id: number, body: UserPatch): Promise<User> {
  return call(api.PATCH('/v3/users/{id}', { params: { path: { id }, header: { 'Idempotency-Key': idempotencyKey() } }, body }));
}

export function UserPage({ params }: { params: Record<string, string> }): JSX.Element {
  const id = Number(params.id);
  const user = useLoad(() => call(api.GET('/v3/users/{id}', { params: { path: { id } } })), [id]);
  const me = currentPerson();
  return (
    <>
      <PageTitle
        actions={
          me !== undefined && hasRight(me, 'rechargeCredit') ? (
            <a class="button" href={`/console/credit/${id}`}>
              Credit
            </a>
          ) : undefined
        }
      >
        {user.status === 'ready' ? displayName(user.data) : 'Person'}
      </PageTitle>
      <p>
        <a href="/console/users">Back to people</a>
      </p>
      <Show loaded={user}>{(data) => <UserForms key={data.id} user={data} />}</Show>
    </>
  );
}

function UserForms({ user }: { user: User }): JSX.Element {
  const [profile, setProfile] = useState<Profile>(profileOf(user));
  const [rights, setRights] = useState<string[]>(user.rights);
  const [password, setPassword] = useState('');
  const [pin, setPin] = useState('');
  const [cards, setCards] = useState('');
  return (
    <>
      <section class="section" aria-labelledby="user-status">
        <h2 id="user-status">Status</h2>
        <p>
          {user.isActive ? 'Active: may log in and use the credit.' : 'Inactive: cannot log in.'}{' '}
          <ActionButton
            label={user.isActive ? 'Deactivate' : 'Reactivate'}
            kind={user.isActive ? 'danger' : 'primary'}
            confirm={user.isActive ? `Deactivate ${user.username}? They can no longer log in.` : undefined}
            done={user.isActive ? 'Deactivated.' : 'Reactivated.'}
            onRun={() => patchUser(user.id, { isActive: !user.isActive })}
          />
        </p>
      </section>
      <section class="section" aria-labelledby="user-profile">
        <h2 id="user-profile">Profile</h2>
        <Form onSubmit={async () => { await patchUser(user.id, profile); return 'Profile saved.'; }} submitLabel="Save profile">
          <ProfileFields profile={profile} onInput={setProfile} />
        </Form>
      </section>
      <section class="section" aria-labelledby="user-rights">
        <h2 id="user-rights">Rights</h2>
        <Form onSubmit={async () => { await patchUser(user.id, { rights: rightsOf(rights) }); return 'Rights saved.'; }} submitLabel="Save rights">
          <Checkboxes name="rights" legend="Rights" options={RIGHTS} value={rights} onInput={setRights} />
        </Form>
      </section>
      <section class="section" aria-labelledby="user-login">
        <h2 id="user-login">Password and PIN</h2>
        <Form
          onSubmit={async () => {
            if (password === '' && pin === '') throw new Error('Type a new password, a new PIN, or both.');
            await patchUser(user.id, { ...(password === '' ? {} : { password }), ...(pin === '' ? {} : { pin }) });
            setPassword('');
            setPin('');
            return 'Saved.';
          }}
          submitLabel="Set"
        >
          <div class="field-row">
            <Field name="password" label="New password" type="password" hint="At least 8 characters." value={password} onInput={setPassword} autocomplete="new-password" />
            <Field name="pin" label="New PIN" type="password" hint="4 to 16 digits." value={pin} onInput={setPin} inputMode="numeric" autocomplete="off" />
          </div>
        </Form>
      </section>
      <section class="section" aria-labelledby="user-cards">
        <h2 id="user-cards">Login cards</h2>
        <p>Purse stores cards only as fingerprints and never shows them, so the cards on file cannot be listed here. Type the full list to replace it; save an empty list to remove every card.</p>
        <Form
          onSubmit={async () => {
            const list = listOf(cards);
            await patchUser(user.id, { cards: list });
            setCards('');
            return list.length === 0 ? 'Every card removed.' : `Cards replaced: ${list.length} on file now.`;
          }}
          submitLabel="Replace cards"
        >
          <TextArea name="cards" label="Cards" hint={CARDS_HINT} rows={3} value={cards} onInput={setCards} />
        </Form>
      </section>
    </>
  );
}
