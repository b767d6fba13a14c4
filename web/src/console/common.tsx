// Pieces the console's pages share: a pager, a button that runs one write and says what went wrong
// beside itself, a secret shown once with a copy button, checkbox groups, text areas, and files
// built in the browser.
import type { ComponentChildren, JSX } from 'preact';
import { useId, useState } from 'preact/hooks';

import { saveBlob } from '../api/client';
import { FieldFrame, useFieldProblem } from '../ui/form';
import { changed, problemOf } from '../ui/load';

import './console.css';

export const PAGE_SIZE = 50;

interface PagerProps {
  label: string;
  start: number;
  /** Rows on this page. */
  shown: number;
  /** All rows, when the API counts them; without it, "Next" stays on while a page comes back full. */
  count?: number;
  onPage: (start: number) => void;
}

export function Pager({ label, start, shown, count, onPage }: PagerProps): JSX.Element | null {
  const end = start + shown;
  const more = count === undefined ? shown === PAGE_SIZE : end < count;
  if (start === 0 && !more) return null;
  return (
    <nav class="pager" aria-label={label}>
      <button type="button" class="button" disabled={start === 0} onClick={() => { onPage(Math.max(0, start - PAGE_SIZE)); }}>
        Previous
      </button>
      <span>
        {shown === 0 ? 0 : start + 1}–{end}
        {count === undefined ? '' : ` of ${count}`}
      </span>
      <button type="button" class="button" disabled={!more} onClick={() => { onPage(start + PAGE_SIZE); }}>
        Next
      </button>
    </nav>
  );
}

interface ActionProps {
  label: string;
  /** The write; resolves when it is on disk. */
  onRun: () => Promise<unknown>;
  kind?: 'danger' | 'quiet' | 'primary';
  /** Asked first (window.confirm) for what cannot be undone. */
  confirm?: string;
  /** Said (role=status) after success; the pages on screen load again either way. */
  done?: string;
  /** The accessible name when the visible label alone is ambiguous in a table ("Expire batch 4"). */
  ariaLabel?: string;
}

/** A button for one write outside a form (a row's "Expire"): the API's problem is shown next to it. */
export function ActionButton({ label, onRun, kind, confirm, done, ariaLabel }: ActionProps): JSX.Element {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const [said, setSaid] = useState('');
  const run = async (): Promise<void> => {
    if (busy || (confirm !== undefined && !window.confirm(confirm))) return;
    setBusy(true);
    setProblem(undefined);
    setSaid('');
    try {
      await onRun();
      setSaid(done ?? '');
      changed();
    } catch (error) {
      setProblem(problemOf(error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="action">
      <button type="button" class={kind === undefined ? 'button' : `button button-${kind}`} disabled={busy} aria-busy={busy} aria-label={ariaLabel} onClick={() => void run()}>
        {label}
      </button>
      {problem === undefined ? null : (
        <span class="action-problem" role="alert">
          {problem}
        </span>
      )}
      {said === '' ? null : (
        <span class="action-done" role="status">
          {said}
        </span>
      )}
    </span>
  );
}

/** A secret the API answers once (a client's, a webhook's): shown with a copy button and the warning. */
export function SecretOnce({ title, secret, children }: { title: string; secret: string; children?: ComponentChildren }): JSX.Element {
  const id = useId();
  const [copied, setCopied] = useState('');
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('Copied.');
    } catch {
      setCopied('The browser refused the clipboard: select the secret and copy it by hand.');
    }
  };
  return (
    <section class="panel secret" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
      <p class="lead">Copy it now: Purse keeps only a sealed form and will not show it again.</p>
      <code class="secret-value">{secret}</code>
      <div class="form-actions">
        <button type="button" class="button button-primary" onClick={() => void copy()}>
          Copy the secret
        </button>
        <span role="status">{copied}</span>
      </div>
    </section>
  );
}

interface CheckboxesProps {
  name: string;
  legend: string;
  options: { value: string; label: string }[];
  value: readonly string[];
  onInput: (value: string[]) => void;
}

export function Checkboxes({ name, legend, options, value, onInput }: CheckboxesProps): JSX.Element {
  const id = useId();
  const problem = useFieldProblem(name);
  return (
    <fieldset class={problem === undefined ? 'field checks' : 'field checks field-invalid'} aria-describedby={problem === undefined ? undefined : `${id}-problem`}>
      <legend>{legend}</legend>
      {options.map((option) => (
        <label key={option.value} class="check">
          <input
            type="checkbox"
            name={name}
            value={option.value}
            checked={value.includes(option.value)}
            onChange={(event) => {
              const on = event.currentTarget.checked;
              onInput(on ? [...value, option.value] : value.filter((v) => v !== option.value));
            }}
          />
          {option.label}
        </label>
      ))}
      {problem === undefined ? null : (
        <p class="field-problem" id={`${id}-problem`}>
          {problem}
        </p>
      )}
    </fieldset>
  );
}

export function Checkbox({ name, label, checked, onInput }: { name: string; label: string; checked: boolean; onInput: (checked: boolean) => void }): JSX.Element {
  const problem = useFieldProblem(name);
  return (
    <div class={problem === undefined ? 'field' : 'field field-invalid'}>
      <label class="check">
        <input type="checkbox" name={name} checked={checked} onChange={(event) => { onInput(event.currentTarget.checked); }} />
        {label}
      </label>
      {problem === undefined ? null : <p class="field-problem">{problem}</p>}
    </div>
  );
}

interface TextAreaProps {
  name: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  hint?: string;
  rows?: number;
}

export function TextArea({ name, label, value, onInput, hint, rows = 6 }: TextAreaProps): JSX.Element {
  return (
    <FieldFrame
      name={name}
      label={label}
      hint={hint}
      control={(aria) => (
        <textarea
          {...aria}
          name={name}
          rows={rows}
          value={value}
          onInput={(event) => {
            onInput(event.currentTarget.value);
          }}
        />
      )}
    />
  );
}

/** Text made in the browser (codes the API answered once) handed to the browser as a download. */
export function saveFile(text: string, type: string, fileName: string): void {
  saveBlob(new Blob([text], { type }), fileName);
}

/** A list typed one item a line or separated by commas, without blanks. */
export function listOf(text: string): string[] {
  return text.split(/[\n,]/).map((item) => item.trim()).filter((item) => item !== '');
}

/** A date input's yyyy-mm-dd as the start (or the whole) of that day in the browser's zone, for the API's ISO dates. */
export function dayStart(day: string): string | undefined {
  return day === '' ? undefined : new Date(`${day}T00:00:00`).toISOString();
}

export function dayEnd(day: string): string | undefined {
  return day === '' ? undefined : new Date(`${day}T23:59:59.999`).toISOString();
}

export function yesNo(value: boolean): string {
  return value ? 'Yes' : 'No';
}
