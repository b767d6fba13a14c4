// The balance over time as a small SVG step line drawn here: a few dozen lines of code instead of a
// charting library, and nothing inline that the pages' CSP (style-src 'self') would refuse.
import type { JSX } from 'preact';

import { dateTime, money } from './format';

const WIDTH = 640;
const HEIGHT = 180;
const PAD = 8;

export interface BalancePoint {
  date: string;
  balance: number;
}

export function BalanceChart({ points, title }: { points: BalancePoint[]; title: string }): JSX.Element | null {
  const timed = points.map((point) => ({ ms: new Date(point.date).getTime(), balance: point.balance })).filter((point) => Number.isFinite(point.ms));
  const first = timed[0];
  const last = timed[timed.length - 1];
  if (first === undefined || last === undefined) return null;
  const spanMs = Math.max(1, last.ms - first.ms);
  const top = Math.max(...timed.map((point) => point.balance), 0);
  const bottom = Math.min(...timed.map((point) => point.balance), 0);
  const range = Math.max(top - bottom, 1e-9);
  const x = (ms: number): number => PAD + ((ms - first.ms) / spanMs) * (WIDTH - 2 * PAD);
  const y = (balance: number): number => PAD + ((top - balance) / range) * (HEIGHT - 2 * PAD);
  // A balance holds until the next entry changes it: a step line, not a slope.
  const steps = timed.flatMap((point, index) => {
    const previous = timed[index - 1];
    return previous === undefined ? [`${x(point.ms)},${y(point.balance)}`] : [`${x(point.ms)},${y(previous.balance)}`, `${x(point.ms)},${y(point.balance)}`];
  });
  const summary = `${title}: from ${money(first.balance)} on ${dateTime(points[0]?.date)} to ${money(last.balance)} on ${dateTime(points[points.length - 1]?.date)}, highest ${money(top)}.`;
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
