/**
 * The console's built assets (a single-page application) from `dist/console/`, when that folder
 * exists: files as they are, and `index.html` for any other GET that asks for HTML (the
 * console's own routes, such as /stories/abc, are client-side).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** dist/console beside the compiled server (this file is dist/src/serve/api/static.js). */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../../console/', import.meta.url));

/** Registers the console's files; returns whether a console is served. */
export async function registerConsole(app: FastifyInstance, dir: string = DEFAULT_CONSOLE_DIR): Promise<boolean> {
  if (!existsSync(`${dir}/index.html`)) return false;
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    index: ['index.html'],
    // Hidden files (.env, .git) are never served; neither are paths that climb out of `root` (@fastify/send refuses them).
    dotfiles: 'deny',
    schemaHide: true,
    // Hashed asset names change with their content; index.html must be revalidated.
    setHeaders: (reply, path) => void reply.header('cache-control', /\/assets\//.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache'),
  });
  return true;
}
