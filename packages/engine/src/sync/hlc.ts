import { z } from 'zod';
import { EngineError } from '../errors.ts';
import { NodeIdSchema } from '../model/actor.ts';

/**
 * Hybrid logical clock stamps as fixed-width strings:
 * `<wall ms, 15 digits>-<counter, 6 digits>-<node id>`. String order is time order, so `a > b`
 * is the whole comparison (ties between equal wall/counter fall to the node id).
 */
export type HlcStamp = string;

export interface HlcParts {
  wallMs: number;
  counter: number;
  nodeId: string;
}

/** The relay refuses a pushed stamp more than this far ahead of its clock (push-rules.ts). */
export const maxDriftMs = 10 * 60_000;
const maxCounter = 999_999;
const stampPattern = /^(\d{15})-(\d{6})-([A-Za-z0-9_.:]{1,64})$/;

export function formatHlc(parts: HlcParts): HlcStamp {
  return `${String(parts.wallMs).padStart(15, '0')}-${String(parts.counter).padStart(6, '0')}-${parts.nodeId}`;
}

export function isHlcStamp(value: unknown): value is HlcStamp {
  return typeof value === 'string' && stampPattern.test(value);
}

/** An HLC stamp as a field of a row: `<15 digits>-<6 digits>-<node id>`. */
export const HlcStampSchema = z
  .string()
  .regex(stampPattern, 'must be an HLC stamp <15 digits>-<6 digits>-<node id>');

export function parseHlc(stamp: string): HlcParts {
  const match = stampPattern.exec(stamp);
  if (!match) throw new EngineError('invalid', `not an HLC stamp: ${JSON.stringify(stamp)}`);
  return { wallMs: Number(match[1]), counter: Number(match[2]), nodeId: match[3]! };
}

/** Wall-clock milliseconds of a stamp. */
export function hlcWallMs(stamp: HlcStamp): number {
  return parseHlc(stamp).wallMs;
}

/**
 * One replica's clock. `now` is read through the caller (the engine's Clock port).
 * Every local write calls `tick`; every received stamp goes through `receive`.
 */
export interface Hlc {
  readonly nodeId: string;
  tick(nowMs: number): HlcStamp;
  /**
   * Advances past a received stamp, however far ahead: the drift of a stamp is judged once, by
   * the relay at push (`pushStampProblem`), and what it accepted every replica applies.
   */
  receive(stamp: HlcStamp, nowMs: number): void;
  last(): HlcStamp;
}

/**
 * The HLC node id of one engine host: its device (or relay instance) id and a short suffix of
 * the host's own id, so two hosts sharing a device id never issue the same stamp.
 */
export function hostNodeId(options: { deviceId: string; hostId: string }): string {
  const suffix = options.hostId.replace(/[^A-Za-z0-9]/g, '').slice(-10) || 'host';
  return `${options.deviceId.slice(0, 63 - suffix.length)}.${suffix}`;
}

export function createHlc(options: { nodeId: string; last?: HlcStamp }): Hlc {
  const nodeId = NodeIdSchema.parse(options.nodeId);
  let wallMs = 0;
  let counter = 0;
  if (options.last) ({ wallMs, counter } = parseHlc(options.last));

  function advance(nextWall: number, nextCounter: number): void {
    if (nextCounter > maxCounter) throw new EngineError('clock', 'HLC counter overflow');
    wallMs = nextWall;
    counter = nextCounter;
  }

  return {
    nodeId,
    tick(nowMs) {
      if (nowMs > wallMs) advance(nowMs, 0);
      else advance(wallMs, counter + 1);
      return formatHlc({ wallMs, counter, nodeId });
    },
    receive(stamp, nowMs) {
      const remote = parseHlc(stamp);
      const nextWall = Math.max(wallMs, remote.wallMs, nowMs);
      if (nextWall === wallMs && nextWall === remote.wallMs)
        advance(nextWall, Math.max(counter, remote.counter) + 1);
      else if (nextWall === wallMs) advance(nextWall, counter + 1);
      else if (nextWall === remote.wallMs) advance(nextWall, remote.counter + 1);
      else advance(nextWall, 0);
    },
    last: () => formatHlc({ wallMs, counter, nodeId }),
  };
}
