// The administrator console's pages: each entry is one route of the app and one link in the
// console's navigation, shown (and routed) only to a person holding its right (admin holds all).
// Add a page here; the shell (web/src/app.tsx, web/src/layout.tsx) does the rest.
import type { ConsolePage } from '../pages';

export const CONSOLE_PAGES: ConsolePage[] = [];
