// Money with its currency and dates in the browser's own locale, through Intl.

/** Purse's currency, written into index.html by the server that serves it (src/web/routes.ts). */
export function currency(): string | undefined {
  const value = document.querySelector('meta[name="purse-currency"]')?.getAttribute('content') ?? '';
  return /^[A-Z]{3}$/.test(value) ? value : undefined;
}

const moneyFormats = new Map<string, Intl.NumberFormat>();

/** An amount in major units (as the API gives it) with its currency: "€13.50", "13,50 €". */
export function money(amount: number, code: string | undefined = currency()): string {
  const key = code ?? '';
  let format = moneyFormats.get(key);
  if (format === undefined) {
    format = code === undefined ? new Intl.NumberFormat(undefined, { minimumFractionDigits: 2 }) : new Intl.NumberFormat(undefined, { style: 'currency', currency: code });
    moneyFormats.set(key, format);
  }
  return format.format(amount);
}

const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

/** An ISO date-time from the API as the browser's locale writes it; "—" for none. */
export function dateTime(iso: string | null | undefined): string {
  if (iso === null || iso === undefined || iso === '') return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateTimeFormat.format(date);
}

export function date(iso: string | null | undefined): string {
  if (iso === null || iso === undefined || iso === '') return '—';
  const parsed = new Date(iso);
  return Number.isNaN(parsed.getTime()) ? iso : dateFormat.format(parsed);
}
