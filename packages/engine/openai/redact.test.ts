import { describe, expect, it } from 'vitest';
import { createRedactor, redactUrlCredentials } from './redact.ts';

describe('redaction of model credentials', () => {
  const redact = createRedactor({
    secrets: ['sk-live-abcdef123456'],
    url: 'https://relay%40corp:p%24ss-word-9@models.example/v1',
  });

  it('removes the key, bearer tokens and the URL user and password, in any form', () => {
    const text = [
      'key sk-live-abcdef123456',
      'Authorization: Bearer anything-at-all',
      'at https://relay%40corp:p%24ss-word-9@models.example/v1/chat',
      'decoded p$ss-word-9 and relay@corp',
      'another http://u:v@elsewhere.example',
    ].join('\n');
    const clean = redact(text);
    for (const secret of [
      'sk-live-abcdef123456',
      'anything-at-all',
      'p%24ss',
      'p$ss',
      'relay@corp',
      'u:v@',
    ])
      expect(clean).not.toContain(secret);
    expect(clean).toContain('Bearer [redacted]');
    expect(clean).toContain('https://[redacted]@models.example/v1/chat');
  });

  it('leaves ordinary text alone, and ignores placeholder keys too short to be secrets', () => {
    const placeholder = createRedactor({
      secrets: ['k', 'none'],
      url: 'http://127.0.0.1:11434/v1',
    });
    const text = 'The model at http://127.0.0.1:11434/v1 did not answer: keep calm, none lost.';
    expect(placeholder(text)).toBe(text);
    expect(redactUrlCredentials('mailto:me@example.com')).toBe('mailto:me@example.com');
  });
});
