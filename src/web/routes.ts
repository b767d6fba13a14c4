// The browser app (web/, built by Vite into dist/web) served by Purse itself: its hashed assets
// cached for good, its index.html never cached (so a new build is picked up at once), and the
// app's own client-side routes (/statement, /console/users/7 …) answered with index.html when a
// browser asks for a page. The API's paths are never shadowed: what they do not know stays a 404.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where `npm run build` puts the app: <repository>/dist/web, from src/web (tsx) and dist/web (built) alike. */
export const WEB_DIR = fileURLToPath(new URL('../../dist/web', import.meta.url));

/** Paths that belong to the API, its documents and operations, and the app's own files: never the app's pages. */
const NOT_PAGES = /^\/(api|v3|oauth|docs|assets|openapi\.json|health|ready|metrics)(\/|$)/;

/** Longest path the app's router ever needs; anything longer is not one of its pages. */
const MAX_PAGE_PATH_LENGTH = 512;

export interface WebApp {
  /** The built index.html, with the server's settings the app reads, or undefined when the app is not built. */
  readonly index: string | undefined;
  readonly dir: string;
}

/**
 * Reads the built app once at start-up. The currency goes into index.html's
 * `<meta name="purse-currency">`: the app formats money with it, and no API answer names it.
 */
export function loadWebApp(dir: string, currency: string): WebApp {
  const file = path.join(dir, 'index.html');
  if (!fs.existsSync(file)) return { index: undefined, dir };
  const html = fs.readFileSync(file, 'utf8').replace('<meta name="purse-currency" content="" />', `<meta name="purse-currency" content="${currency}" />`);
  return { index: html, dir };
}

const NOT_BUILT = 'The web app is not built, so there is nothing to show here yet: run `npm run build` (npm ci and npm start run it), then restart Purse. The API works without it: see /docs.\n';

function sendIndex(web: WebApp, reply: FastifyReply): FastifyReply {
  if (web.index === undefined) return reply.code(503).type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT);
  return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(web.index);
}

/** Whether an unrouted request is a browser asking for one of the app's pages. */
export function isAppPage(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const pathname = request.url.split('?')[0] ?? '';
  if (pathname.length > MAX_PAGE_PATH_LENGTH || NOT_PAGES.test(pathname)) return false;
  // A file that is not there (/robots.txt, /x.js) is a 404, not the app.
  if (/\.[a-z0-9]+$/i.test(pathname)) return false;
  return (request.headers.accept ?? '').includes('text/html');
}

/** The not-found handler's way to answer an app page: see routing.ts. */
export function appPageFallback(web: WebApp): (request: FastifyRequest, reply: FastifyReply) => FastifyReply | undefined {
  return (request, reply) => (isAppPage(request) ? sendIndex(web, reply) : undefined);
}

export async function webRoutes(app: FastifyInstance, { web }: { web: WebApp }): Promise<void> {
  app.get('/', { schema: { hide: true } }, (_request, reply) => sendIndex(web, reply));
  const assets = path.join(web.dir, 'assets');
  if (!fs.existsSync(assets)) return;
  // Vite names every asset by a hash of its content: a changed file is a new name, so a cached one is never stale.
  await app.register(fastifyStatic, { root: assets, prefix: '/assets/', decorateReply: false, index: false, immutable: true, maxAge: '365d', schemaHide: true });
}
