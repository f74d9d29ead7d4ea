/**
 * Serves the built webapp (SvelteKit static build) from `webappDir`: files as they are, and
 * `200.html` for every other path outside `/v1` (the SPA fallback). Without a build, `/` says
 * how to make one. The build is looked for on each request, so building while the relay runs
 * works without a restart.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Hono, MiddlewareHandler } from 'hono';
import type { AppEnv } from './app-env.ts';
import { createPagePolicies, pagePolicy, setPageHeaders } from './security-headers.ts';

const missingBuildPage = (webappDir: string) => `<!doctype html>
<meta charset="utf-8"><title>Baton relay</title>
<body style="font-family: system-ui; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>Baton relay is running</h1>
<p>The webapp is not built yet (looked in <code>${webappDir.replace(/[<>&]/g, '')}</code>).</p>
<p>Build it with <code>npm run build -w @baton/webapp</code> (or start everything with <code>npm start</code>), then reload.</p>
<p>The API is under <code>/v1</code>; <a href="/health">/health</a> shows the relay's state.</p>
</body>`;

/** The build file a URL path names (the shell for anything odd: bad escapes, `..`). */
function filePath(urlPath: string): string {
  try {
    const path = decodeURIComponent(urlPath);
    return path.split('/').includes('..') ? '/200.html' : path;
  } catch {
    return '/200.html';
  }
}

export function addWebappRoutes(options: { app: Hono<AppEnv>; webappDir: string }): void {
  const { app, webappDir } = options;
  let files: MiddlewareHandler | undefined;
  let fallback: MiddlewareHandler | undefined;
  const built = () => existsSync(join(webappDir, '200.html'));
  const policyOf = createPagePolicies();
  /** An HTML response gets the policy of the file it came from (the shell when unknown). */
  const withPolicy = async (response: Response, path: string) => {
    if (!(response.headers.get('content-type') ?? '').includes('text/html')) return response;
    const file = join(webappDir, path.endsWith('/') ? `${path}index.html` : path);
    const policy = await policyOf(file).catch(() => policyOf(join(webappDir, '200.html')));
    setPageHeaders(response, policy);
    return response;
  };

  app.get('*', async (context, next) => {
    if (context.req.path === '/v1' || context.req.path.startsWith('/v1/')) return next();
    if (!built()) {
      if (context.req.path === '/' || context.req.path === '/index.html') {
        const page = context.html(missingBuildPage(webappDir));
        setPageHeaders(page, pagePolicy([]));
        return page;
      }
      return next();
    }
    files ??= serveStatic({ root: webappDir });
    fallback ??= serveStatic({ root: webappDir, path: '200.html' });
    const served = await files(context, async () => undefined);
    if (served) return withPolicy(served, filePath(context.req.path));
    if (context.finalized) return withPolicy(context.res, filePath(context.req.path));
    const shell = (await fallback(context, next)) ?? context.res;
    return withPolicy(shell, '/200.html');
  });
}
