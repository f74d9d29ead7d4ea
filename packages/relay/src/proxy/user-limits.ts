/**
 * Per-user limits of the model proxy, in this process's memory: calls in flight, calls started in
 * the last 60 s (a sliding window), and tokens per UTC day (counted from the endpoint's `usage`
 * when a call finishes, so one call may go past the limit; the next is refused). Several relay
 * processes each keep their own counts, and a restart starts from zero.
 *
 * Time is a parameter (`now`, epoch ms); nothing here starts a timer.
 */
import type { ProxySettings } from '../config.ts';

export type UserLimits = Pick<ProxySettings, 'maxInFlight' | 'callsPerMinute' | 'tokensPerDay'>;

/** Which limit refused a call; also the `limit` label of the refusal metric. */
export type LimitName = 'in_flight' | 'calls_per_minute' | 'tokens_per_day';

export interface UserUsage {
  /** The UTC day the counts are for, `YYYY-MM-DD`. */
  day: string;
  /** Calls admitted today. */
  callsToday: number;
  /** Tokens the endpoint reported for this user's calls that finished today. */
  tokensToday: number;
  /** Calls refused by a limit today. */
  refusalsToday: number;
  inFlight: number;
}

export type Admission =
  | {
      admitted: true;
      /** Ends the call: frees its in-flight place and adds `tokens` to today's. Idempotent. */
      finish(tokens: number): void;
    }
  | { admitted: false; limit: LimitName; message: string; retryAfterSeconds: number };

const minuteMs = 60_000;
const dayMs = 86_400_000;

interface UserState {
  day: string;
  callsToday: number;
  tokensToday: number;
  refusalsToday: number;
  inFlight: number;
  /** Start times of the calls admitted in the last minute, oldest first. */
  recentStarts: number[];
}

const utcDay = (epochMs: number) => new Date(epochMs).toISOString().slice(0, 10);

export function createUserLimits(options: { limits: UserLimits; now: () => number }) {
  const { limits, now } = options;
  const users = new Map<string, UserState>();

  function stateOf(userId: string, at: number): UserState {
    const day = utcDay(at);
    let state = users.get(userId);
    if (!state) {
      state = {
        day,
        callsToday: 0,
        tokensToday: 0,
        refusalsToday: 0,
        inFlight: 0,
        recentStarts: [],
      };
      users.set(userId, state);
    } else if (state.day !== day) {
      Object.assign(state, { day, callsToday: 0, tokensToday: 0, refusalsToday: 0 });
    }
    while (state.recentStarts.length > 0 && state.recentStarts[0]! <= at - minuteMs)
      state.recentStarts.shift();
    return state;
  }

  function refusal(at: number, state: UserState): Exclude<Admission, { admitted: true }> | null {
    if (state.tokensToday >= limits.tokensPerDay) {
      const nextDay = Math.floor(at / dayMs + 1) * dayMs;
      return {
        admitted: false,
        limit: 'tokens_per_day',
        message: `You have used ${state.tokensToday} model tokens today through this relay; the limit is ${limits.tokensPerDay} a day (PROXY_TOKENS_PER_DAY). It resets at 00:00 UTC.`,
        retryAfterSeconds: Math.max(1, Math.ceil((nextDay - at) / 1000)),
      };
    }
    if (state.inFlight >= limits.maxInFlight) {
      return {
        admitted: false,
        limit: 'in_flight',
        message: `You already have ${state.inFlight} model calls in flight through this relay; the limit is ${limits.maxInFlight} at once (PROXY_MAX_IN_FLIGHT). Wait for one to finish.`,
        retryAfterSeconds: 1,
      };
    }
    if (state.recentStarts.length >= limits.callsPerMinute) {
      const oldest = state.recentStarts[0]!;
      return {
        admitted: false,
        limit: 'calls_per_minute',
        message: `You have started ${state.recentStarts.length} model calls in the last minute through this relay; the limit is ${limits.callsPerMinute} a minute (PROXY_CALLS_PER_MINUTE).`,
        retryAfterSeconds: Math.max(1, Math.ceil((oldest + minuteMs - at) / 1000)),
      };
    }
    return null;
  }

  return {
    limits,
    /** Admits a call for `userId` or says which limit refuses it and when to try again. */
    admit(userId: string): Admission {
      const at = now();
      const state = stateOf(userId, at);
      const refused = refusal(at, state);
      if (refused) {
        state.refusalsToday += 1;
        return refused;
      }
      state.callsToday += 1;
      state.inFlight += 1;
      state.recentStarts.push(at);
      let finished = false;
      return {
        admitted: true,
        finish(tokens) {
          if (finished) return;
          finished = true;
          const current = stateOf(userId, now());
          current.inFlight -= 1;
          current.tokensToday += Math.max(0, Math.round(tokens));
        },
      };
    },
    /** The user's counts now (zeros for a user with no calls today). */
    usage(userId: string): UserUsage {
      const { day, callsToday, tokensToday, refusalsToday, inFlight } = stateOf(userId, now());
      return { day, callsToday, tokensToday, refusalsToday, inFlight };
    },
  };
}

export type UserLimitsTracker = ReturnType<typeof createUserLimits>;
