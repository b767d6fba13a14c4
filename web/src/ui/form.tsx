// Forms whose API errors land next to their fields: <Form> runs the submit and keeps the API's error
// body; each <Field> shows the problem the body names for it (`data: [{field, problem}]`), and the
// form's summary at the top says what went wrong as a whole, or points to the fields.
import { createContext, type ComponentChildren, type JSX, type PartialInputHTMLAttributes } from 'preact';
import { useContext, useId, useRef, useState } from 'preact/hooks';

import type { ApiProblem } from '../api/client';

import { changed, problemOf } from './load';

const FormProblem = createContext<ApiProblem | undefined>(undefined);
/** The names of the fields a form shows, so that its summary knows which problems they already say. */
const FormFields = createContext<Set<string> | undefined>(undefined);

/**
 * Whether an API field names this form field: the API says `body.params.amount` or
 * `querystring.from` for schema problems and `amount` for some business rules; a form field is named
 * as the body or query writes it (`params.amount`, `from`).
 */
export function fieldMatches(apiField: string | undefined, name: string): boolean {
  if (apiField === undefined) return false;
  const bare = apiField.replace(/^(body|querystring)\./, '');
  return bare === name || bare.endsWith(`.${name}`) || name.endsWith(`.${bare}`);
}

/** Lets the fields inside show the problems of an API answer that no <Form> made (a filter's load). */
export const FieldProblems = FormProblem.Provider;

/** The problems of one field, or none. */
export function useFieldProblem(name: string): string | undefined {
  useContext(FormFields)?.add(name);
  const problem = useContext(FormProblem);
  const found = problem?.data.filter((detail) => fieldMatches(detail.field, name)).map((detail) => detail.problem);
  return found === undefined || found.length === 0 ? undefined : found.join('; ');
}

interface FormProps {
  /**
   * The write; resolve when it is done, with a sentence to say so ("Voucher redeemed: €5.00") if
   * it has one. Throwing an ApiError shows its problems.
   */
  onSubmit: () => Promise<unknown>;
  submitLabel: string;
  children: ComponentChildren;
  class?: string;
  /** After success: everything on screen loads again (default), unless the page does it itself. */
  refresh?: boolean;
}

/**
 * What the top of a form says: the API's message when some problem is not shown at a field of the
 * form (or none names a field), else a pointer to the fields, which say it in the person's terms.
 */
function summaryOf(problem: ApiProblem, fields: ReadonlySet<string>): string {
  const atFields = problem.data.length > 0 && problem.data.every((detail) => [...fields].some((name) => fieldMatches(detail.field, name)));
  return atFields ? 'Please correct what is marked below.' : problem.message;
}

export function Form({ onSubmit, submitLabel, children, class: className, refresh = true }: FormProps): JSX.Element {
  const fields = useRef(new Set<string>()).current;
  const [problem, setProblem] = useState<ApiProblem | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState('');
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setProblem(undefined);
    setDone('');
    try {
      const said = await onSubmit();
      setDone(typeof said === 'string' ? said : '');
      if (refresh) changed();
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class={className === undefined ? 'form' : `form ${className}`} onSubmit={(event) => void submit(event)} noValidate>
      {problem === undefined ? null : (
        <div class="alert alert-error" role="alert">
          {summaryOf(problem, fields)}
        </div>
      )}
      <FormFields.Provider value={fields}>
        <FormProblem.Provider value={problem}>{children}</FormProblem.Provider>
      </FormFields.Provider>
      <p class="form-done" role="status">
        {done}
      </p>
      <div class="form-actions">
        <button type="submit" class="button button-primary" disabled={busy} aria-busy={busy}>
          {busy ? 'Working…' : submitLabel}
        </button>
      </div>
    </form>
  );
}

/** Numbers are typed as text with inputMode="decimal": a number input rounds and rejects what the API would explain. */
type InputType = 'text' | 'email' | 'tel' | 'date' | 'password';

type InputAttributes = Omit<PartialInputHTMLAttributes<HTMLInputElement>, 'type' | 'role'>;

/** Preact types each input type with the ARIA roles it may take, so the type is written out per branch. */
function TypedInput({ type, attributes }: { type: InputType; attributes: InputAttributes }): JSX.Element {
  if (type === 'password') return <input type="password" {...attributes} />;
  if (type === 'date') return <input type="date" {...attributes} />;
  if (type === 'email') return <input type="email" {...attributes} />;
  if (type === 'tel') return <input type="tel" {...attributes} />;
  return <input type="text" {...attributes} />;
}

interface FieldProps {
  /** The field as the API names it in the body or query (`params.amount`), for its errors. */
  name: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  type?: InputType;
  hint?: string;
  autocomplete?: string;
  required?: boolean;
  inputMode?: 'numeric' | 'decimal' | 'text' | 'tel';
}

/** What a control inside a FieldFrame carries: its id, and the ARIA tying it to its hint and problem. */
export interface FieldControl {
  id: string;
  'aria-invalid': boolean;
  'aria-describedby': string | undefined;
}

interface FieldFrameProps {
  /** The field as the API names it in the body or query (`params.amount`), for its errors. */
  name: string;
  label: string;
  hint?: string;
  control: (attributes: FieldControl) => JSX.Element;
}

/** A labelled control with its hint and the API's problem with it, both tied to it for screen readers. */
export function FieldFrame({ name, label, hint, control }: FieldFrameProps): JSX.Element {
  const id = useId();
  const problem = useFieldProblem(name);
  const describedBy = [hint === undefined ? '' : `${id}-hint`, problem === undefined ? '' : `${id}-problem`].filter((part) => part !== '').join(' ');
  return (
    <div class={problem === undefined ? 'field' : 'field field-invalid'}>
      <label for={id}>{label}</label>
      {hint === undefined ? null : (
        <p class="field-hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {control({ id, 'aria-invalid': problem !== undefined, 'aria-describedby': describedBy === '' ? undefined : describedBy })}
      {problem === undefined ? null : (
        <p class="field-problem" id={`${id}-problem`}>
          {problem}
        </p>
      )}
    </div>
  );
}

/** A labelled input in its FieldFrame. */
export function Field({ name, label, value, onInput, type = 'text', hint, autocomplete, required, inputMode }: FieldProps): JSX.Element {
  return (
    <FieldFrame
      name={name}
      label={label}
      hint={hint}
      control={(aria) => (
        <TypedInput
          type={type}
          attributes={{
            ...aria,
            name,
            value,
            onInput: (event: { currentTarget: HTMLInputElement }) => {
              onInput(event.currentTarget.value);
            },
            autocomplete,
            required,
            inputMode,
          }}
        />
      )}
    />
  );
}

interface SelectProps {
  name: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  options: { value: string; label: string }[];
}

export function Select({ name, label, value, onInput, options }: SelectProps): JSX.Element {
  return (
    <FieldFrame
      name={name}
      label={label}
      control={(aria) => (
        <select
          {...aria}
          name={name}
          value={value}
          onChange={(event) => {
            onInput(event.currentTarget.value);
          }}
        >
          {options.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
      )}
    />
  );
}
