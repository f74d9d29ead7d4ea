/**
 * Keeps model credentials out of everything a user or a log reader sees: the API key,
 * the user and password of a URL (`https://user:pass@host`), and any `Bearer <token>`.
 */

export const redacted = '[redacted]';

/** Secrets shorter than this are placeholders ('k', 'none'), not keys: replacing them everywhere
 * would mangle ordinary words. */
const shortestSecret = 6;

const urlCredentials = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi;
const bearerToken = /\b(Bearer\s+)[^\s"',;]+/gi;

/** `scheme://user:pass@host` → `scheme://[redacted]@host`, anywhere in `text`. */
export function redactUrlCredentials(text: string): string {
  return text.replace(urlCredentials, `$1${redacted}@`);
}

/**
 * A function that removes the given secrets (and the user and password of `url`, in plain and
 * percent-encoded form), URL credentials and bearer tokens from a text. Pure; cheap enough to
 * run on every error message and log line the proxy writes.
 */
export function createRedactor(options: {
  secrets: ReadonlyArray<string | undefined>;
  url?: string | undefined;
}): (text: string) => string {
  const secrets = new Set<string>();
  const add = (secret: string | undefined) => {
    if (secret === undefined || secret.length < shortestSecret) return;
    secrets.add(secret);
    secrets.add(encodeURIComponent(secret));
    try {
      secrets.add(decodeURIComponent(secret));
    } catch {
      // Not percent-encoded: the plain form is already in.
    }
  };
  for (const secret of options.secrets) add(secret);
  const credentials = options.url && /^[a-z][a-z0-9+.-]*:\/\/([^/?#@]+)@/i.exec(options.url)?.[1];
  if (credentials) {
    add(credentials);
    for (const part of credentials.split(':')) add(part);
  }
  // Longest first, so a secret containing another is replaced whole.
  const ordered = [...secrets].sort((a, b) => b.length - a.length);
  return (text) => {
    let result = redactUrlCredentials(text).replace(bearerToken, `$1${redacted}`);
    for (const secret of ordered) result = result.split(secret).join(redacted);
    return result;
  };
}
