/**
 * Headers that keep the webapp and the API from being misused by other sites: every response
 * says `nosniff` and sends no referrer; the app's pages carry a Content-Security-Policy whose
 * scripts are the app's own files plus the inline scripts of that page, by hash (the static
 * build has a small inline start script), and which no other site may frame.
 *
 * `connect-src` allows any http(s) and ws(s) address: a device may plan with a model endpoint
 * the person sets in Settings (Ollama on localhost, a provider's API), which the app cannot know
 * when it is built.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { MiddlewareHandler } from 'hono';

/** The sha256 sources of a page's inline scripts (`<script>` without `src`). */
export function inlineScriptHashes(html: string): string[] {
  const hashes: string[] = [];
  for (const match of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    const attributes = match[1] ?? '';
    if (/\bsrc\s*=/i.test(attributes)) continue;
    const digest = createHash('sha256')
      .update(match[2] ?? '', 'utf8')
      .digest('base64');
    hashes.push(`'sha256-${digest}'`);
  }
  return hashes;
}

/** The policy of a page whose inline scripts hash to `hashes`. */
export function pagePolicy(hashes: readonly string[]): string {
  return [
    "default-src 'self'",
    `script-src 'self' ${hashes.join(' ')}`.trim(),
    "worker-src 'self'",
    // Svelte sets style attributes (transitions, sizes): styles may be inline, scripts may not.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    // The relay itself, and whatever model endpoint a device is set to use (see above).
    "connect-src 'self' http: https: ws: wss:",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** `nosniff` and no referrer on every response. */
export function baseSecurityHeaders(): MiddlewareHandler {
  return async (context, next) => {
    await next();
    context.res.headers.set('X-Content-Type-Options', 'nosniff');
    context.res.headers.set('Referrer-Policy', 'no-referrer');
  };
}

/** The policy of an HTML file of the build, cached until the file changes (a rebuild). */
export function createPagePolicies(): (file: string) => Promise<string> {
  const cache = new Map<string, { mtimeMs: number; policy: string }>();
  return async (file) => {
    const { mtimeMs } = await stat(file);
    const known = cache.get(file);
    if (known?.mtimeMs === mtimeMs) return known.policy;
    const policy = pagePolicy(inlineScriptHashes(await readFile(file, 'utf8')));
    cache.set(file, { mtimeMs, policy });
    return policy;
  };
}

/** Sets a page's policy and the framing refusal on an HTML response. */
export function setPageHeaders(response: Response, policy: string): void {
  response.headers.set('Content-Security-Policy', policy);
  response.headers.set('X-Frame-Options', 'DENY');
}
