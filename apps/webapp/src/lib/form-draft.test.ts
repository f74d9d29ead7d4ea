import { describe, expect, it } from 'vitest';
import { keepEdits } from './form-draft.ts';

describe('keepEdits', () => {
  const empty = { url: '', format: 'json' };

  it('fills the fields the person has not touched with what was read', () => {
    const stored = { url: 'https://ntfy.sh/baton', format: 'ntfy' };
    expect(keepEdits(empty, empty, stored)).toEqual(stored);
  });

  it('keeps an address typed before the stored setting arrived', () => {
    const typed = { url: 'http://127.0.0.1:9/hook', format: 'json' };
    expect(keepEdits(typed, empty, { url: '', format: 'slack' })).toEqual({
      url: 'http://127.0.0.1:9/hook',
      format: 'slack',
    });
  });

  it('keeps an edit to one form when another form of the page is saved and read again', () => {
    const loaded = { deviceName: 'Laptop', modelEndpoint: '' };
    const sent = { ...loaded, deviceName: 'Work laptop' };
    const fields = { deviceName: 'Work laptop', modelEndpoint: 'http://localhost:11434/v1' };
    const stored = { deviceName: 'Work laptop', modelEndpoint: '' };
    expect(keepEdits(fields, sent, stored)).toEqual(fields);
  });

  it('shows a saved field as the store holds it, unless typed on during the save', () => {
    const sent = { relayUrl: 'http://localhost:8787/', deviceName: 'Laptop' };
    const stored = { relayUrl: 'http://localhost:8787', deviceName: 'Laptop' };
    expect(keepEdits(sent, sent, stored)).toEqual(stored);
    const typedOn = { ...sent, deviceName: 'Laptop 2' };
    expect(keepEdits(typedOn, sent, stored)).toEqual({ ...stored, deviceName: 'Laptop 2' });
  });
});
