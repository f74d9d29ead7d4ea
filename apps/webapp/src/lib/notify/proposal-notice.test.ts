import { describe, expect, it } from 'vitest';
import { newlyPending, proposalNotice, tabShouldTell } from './proposal-notice.ts';

const hidden = { visibilityState: 'hidden' as const };
const visible = { visibilityState: 'visible' as const };
const message = { type: 'proposals-waiting' as const, count: 3, newIds: ['p2', 'p3'] };

describe('proposal notifications', () => {
  it('reports nothing on a tab’s first read, then only proposals that became pending', () => {
    expect(newlyPending(null, ['p1'])).toEqual([]);
    expect(newlyPending(new Set(['p1']), ['p1', 'p2'])).toEqual(['p2']);
    expect(newlyPending(new Set(['p1', 'p2']), ['p2'])).toEqual([]);
  });

  it('tells the service worker only when asked for, allowed, hidden, and something is new', () => {
    const base = { enabled: true, permission: 'granted' as const, hidden: true, newIds: ['p2'] };
    expect(tabShouldTell(base)).toBe(true);
    expect(tabShouldTell({ ...base, enabled: false })).toBe(false);
    expect(tabShouldTell({ ...base, permission: 'default' })).toBe(false);
    expect(tabShouldTell({ ...base, permission: 'unsupported' })).toBe(false);
    expect(tabShouldTell({ ...base, hidden: false })).toBe(false);
    expect(tabShouldTell({ ...base, newIds: [] })).toBe(false);
  });

  it('shows one notification while every Baton tab is hidden, naming how many wait', () => {
    expect(proposalNotice({ message, tabs: [hidden, hidden], told: new Set() })).toEqual({
      title: '3 proposals wait in the Inbox',
      body: 'Open Baton to approve, edit or reject them.',
      tag: 'baton-proposals',
      url: '/inbox',
      ids: ['p2', 'p3'],
    });
    expect(
      proposalNotice({
        message: { ...message, count: 1, newIds: ['p9'] },
        tabs: [],
        told: new Set(),
      })?.title,
    ).toBe('1 proposal waits in the Inbox');
  });

  it('stays quiet while any Baton tab is visible, and for proposals already told of', () => {
    expect(proposalNotice({ message, tabs: [hidden, visible], told: new Set() })).toBeNull();
    expect(proposalNotice({ message, tabs: [hidden], told: new Set(['p2', 'p3']) })).toBeNull();
    expect(proposalNotice({ message, tabs: [hidden], told: new Set(['p2']) })?.ids).toEqual(['p3']);
  });
});
