// The balance over time as a small SVG step line drawn here: a few dozen lines of code instead of a
// charting library, and nothing inline that the pages' CSP (style-src 'self') would refuse.
import type { JSX } from 'preact';

import { dateTime, money } from './format';

const WIDTH = 640;
const HEIGHT = 180;
const PAD = 8;

export interface BalancePoint {
  date: string;
  /** The balance after the entry… */
  balance: number;
  /** …and what the entry changed it by. */
  value: number;
}

/**
 * The balance before the first entry and after each one, as steps spaced evenly in time order: a
 * statement is read entry by entry, and a busy minute would otherwise be squeezed into one pixel
 * beside an idle month. The caption gives the dates and amounts for screen readers and for all.
 */
export function BalanceChart({ points, title }: { points: BalancePoint[]; title: string }): JSX.Element | null {
  const first = points[0];
  const last = points[points.length - 1];
  if (first === undefined || last === undefined) return null;
  const balances = [first.balance - first.value, ...points.map((point) => point.balance)];
  const highest = Math.max(...balances);
  const lowest = Math.min(...balances);
  // The zero line is always in the picture, so that a small balance does not look like a large one.
  const top = Math.max(highest, 0);
  const bottom = Math.min(lowest, 0);
  const range = Math.max(top - bottom, 1e-9);
  const x = (index: number): number => PAD + (index / Math.max(1, balances.length - 1)) * (WIDTH - 2 * PAD);
  const y = (balance: number): number => PAD + ((top - balance) / range) * (HEIGHT - 2 * PAD);
  // A balance holds until the next entry changes it: a step line, not a slope.
  const steps = balances.flatMap((balance, index) => {
    const previous = balances[index - 1];
    return previous === undefined ? [`${x(index)},${y(balance)}`] : [`${x(index)},${y(previous)}`, `${x(index)},${y(balance)}`];
  });
  const summary = `${title}: ${money(last.balance)} after ${points.length} ${points.length === 1 ? 'entry' : 'entries'} from ${dateTime(first.date)} to ${dateTime(last.date)}; highest ${money(highest)}, lowest ${money(lowest)}.`;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={summary} preserveAspectRatio="none">
        <line class="chart-axis" x1={PAD} y1={y(0)} x2={WIDTH - PAD} y2={y(0)} />
        <polyline class="chart-line" points={steps.join(' ')} />
      </svg>
      <figcaption>{summary}</figcaption>
    </figure>
  );
}
