import { z } from 'zod';

/** The channel the engine hosts of one browser profile use to reach each other. */
export const hostChannelName = 'baton-hosts';

/**
 * What one host tells the others. Followers write to IndexedDB themselves and then tell the
 * leader (`kick`: push soon; `poke`: tick and sync now; `network`: the page saw the network come
 * or go). `settings` tells every host to re-read the settings another host just saved.
 */
export const HostMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('kick'), from: z.string() }),
  z.object({ type: z.literal('poke'), from: z.string() }),
  z.object({ type: z.literal('settings'), from: z.string() }),
  z.object({ type: z.literal('network'), from: z.string(), online: z.boolean() }),
]);
export type HostMessage = z.infer<typeof HostMessageSchema>;

/** A message as sent: the channel adds `from`. */
export type HostNotice = HostMessage extends infer M
  ? M extends HostMessage
    ? Omit<M, 'from'>
    : never
  : never;

export interface HostChannel {
  post(notice: HostNotice): void;
  close(): void;
}

/**
 * Joins the hosts' BroadcastChannel. Every message in is checked with HostMessageSchema; one
 * that does not fit is dropped with a warning. Where BroadcastChannel is missing, posts go
 * nowhere (the leader still syncs on its own timers).
 */
export function createHostChannel(options: {
  hostId: string;
  onMessage: (message: HostMessage) => void;
}): HostChannel {
  if (typeof BroadcastChannel === 'undefined') return { post: () => undefined, close: () => {} };
  const channel = new BroadcastChannel(hostChannelName);
  channel.onmessage = (event: MessageEvent<unknown>) => {
    const parsed = HostMessageSchema.safeParse(event.data);
    if (!parsed.success) {
      console.warn('[baton] dropped an unusable message from another engine host', event.data);
      return;
    }
    if (parsed.data.from !== options.hostId) options.onMessage(parsed.data);
  };
  return {
    post: (notice) => channel.postMessage({ ...notice, from: options.hostId }),
    close: () => channel.close(),
  };
}
