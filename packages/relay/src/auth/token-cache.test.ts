import { describe, expect, it } from 'vitest';
import { createTokenCache } from './token-cache.ts';

const signIn = (tokenId: string) => ({
  user: { id: 'usr_1', name: 'ada' },
  tokenId,
  lastUsedAt: null,
});

describe('token cache', () => {
  it('forgets every entry of a revoked token, and nothing else', () => {
    const cache = createTokenCache();
    cache.set('hash-a', signIn('tok_a'), cache.generation());
    cache.set('hash-b', signIn('tok_b'), cache.generation());
    cache.forgetToken('tok_a');
    expect(cache.get('hash-a')).toBeUndefined();
    expect(cache.get('hash-b')?.tokenId).toBe('tok_b');
  });

  it('does not keep a lookup that started before a revocation', () => {
    const cache = createTokenCache();
    const before = cache.generation();
    // The token is revoked while its lookup is in flight; the lookup then answers.
    cache.forgetToken('tok_a');
    cache.set('hash-a', signIn('tok_a'), before);
    expect(cache.get('hash-a')).toBeUndefined();
  });

  it('holds at most maxEntries, dropping the oldest', () => {
    const cache = createTokenCache({ maxEntries: 2 });
    for (const name of ['a', 'b', 'c']) cache.set(name, signIn(`tok_${name}`), 0);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('c')?.tokenId).toBe('tok_c');
  });
});
