/**
 * The rule that grants leases on iteration ids (design §2, "Claims"), pure so that every holder
 * of the claims table (the relay's SQL, the memory claims, the simulator's relay) applies the
 * same one.
 */

/** A lease on one iteration id. */
export interface Lease {
  holder: string;
  /** Epoch ms. */
  expiresAt: number;
}

export type ClaimDecision =
  { granted: true; lease: Lease } | { granted: false; lease: Lease; reason: string };

/**
 * Whether `holder` gets the lease on an iteration id at `now`: granted when there is no lease,
 * when the current one has expired, or when `holder` already holds it (a renewal); refused
 * while another holder's lease lives.
 */
export function decideClaim(options: {
  current: Lease | undefined;
  holder: string;
  ttlMs: number;
  now: number;
}): ClaimDecision {
  const { current, holder, now } = options;
  if (current && current.holder !== holder && current.expiresAt > now)
    return { granted: false, lease: current, reason: `held by ${current.holder}` };
  return { granted: true, lease: { holder, expiresAt: now + options.ttlMs } };
}
