import { describe, expect, it } from 'vitest';
import { jsonValueProblem, maxJsonDepth } from './json-value.ts';

describe('jsonValueProblem', () => {
  it('accepts ordinary JSON, emoji included, and names the first problem with its path', () => {
    expect(jsonValueProblem({ title: 'ok 😀', tags: ['a', { b: null }], n: 1 })).toBeUndefined();
    expect(jsonValueProblem({ list: ['fine', 'a\u0000b'] })).toEqual({
      path: ['list', 1],
      message: 'must not contain the character U+0000',
    });
    expect(jsonValueProblem({ title: 'x\ud800' })?.path).toEqual(['title']);
    expect(jsonValueProblem({ ['k\udc00']: 1 })?.message).toMatch(/^key must be valid Unicode/);
    expect(jsonValueProblem(JSON.parse('{"a":{"__proto__":{"x":1}}}'))).toEqual({
      path: ['a', '__proto__'],
      message: 'is not an allowed key',
    });
    // An object's keys are checked before its values; values in order.
    expect(jsonValueProblem(JSON.parse('{"a":"\\u0000","__proto__":1}'))?.path).toEqual([
      '__proto__',
    ]);
    expect(jsonValueProblem({ a: [{ b: 'ok' }, 'x\u0000'], c: 'y\u0000' })?.path).toEqual(['a', 1]);
  });

  it('refuses nesting past the limit without overflowing the stack, however deep', () => {
    let value: unknown = 'leaf';
    for (let level = 0; level < maxJsonDepth; level += 1) value = [value];
    expect(jsonValueProblem(value)).toBeUndefined();
    expect(jsonValueProblem([value])?.message).toBe(`is nested deeper than ${maxJsonDepth} levels`);
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    expect(jsonValueProblem(deep)?.path).toHaveLength(maxJsonDepth);
  });
});
