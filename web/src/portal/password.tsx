// Changing one's own password; Purse ends the person's other sessions, and keeps this one.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';

import { changePassword } from '../auth/me';
import { Field, Form } from '../ui/form';
import { PageTitle } from '../ui/parts';

export function PasswordPage(): JSX.Element {
  const [currentPassword, setCurrent] = useState('');
  const [newPassword, setNew] = useState('');
  const submit = async (): Promise<string> => {
    await changePassword(currentPassword, newPassword);
    setCurrent('');
    setNew('');
    return 'Password changed. Your other sessions have been logged out.';
  };
  return (
    <>
      <PageTitle>Change your password</PageTitle>
      <Form onSubmit={submit} submitLabel="Change password" refresh={false}>
        <Field name="currentPassword" label="Current password" type="password" value={currentPassword} onInput={setCurrent} autocomplete="current-password" />
        <Field name="newPassword" label="New password" hint="8 to 256 characters" type="password" value={newPassword} onInput={setNew} autocomplete="new-password" />
      </Form>
    </>
  );
}
