// Lone spikes: a GC pause, a noisy neighbour or a cache flush makes one canary minute bad
// while the minutes around it are normal. Fleets show two or three of them an hour, in
// several metrics at once. A verdict must hold with up to SPIKE_ALLOWANCE such minutes
// set aside; a run of bad minutes is a regression, so only isolated minutes qualify.

/** Lone spike minutes a verdict must survive, per metric and window. */
export const SPIKE_ALLOWANCE = 3;

export interface ScoredMinute {
  /** The interval (0-based). */
  i: number;
  /** How much this minute speaks for a verdict on the side judged (higher: more). */
  score: number;
}

export interface LoneSpikes {
  /** The intervals set aside, worst first. */
  spikes: number[];
  /**
   * The worst minute not set aside, whose level the spikes are capped at (undefined
   * when every minute was set aside or there were none).
   */
  reference: number | undefined;
}

/**
 * The up-to-`allowance` worst minutes that are isolated: chosen from the worst down,
 * skipping a minute next to one already chosen, so that in a run of bad minutes at
 * least every other one keeps its evidence. A verdict needs its test to hold both with
 * and without the cap, so every guarantee of the test it feeds still holds.
 */
export function loneSpikes(minutes: readonly ScoredMinute[], allowance = SPIKE_ALLOWANCE): LoneSpikes {
  const byScore = [...minutes].sort((x, y) => y.score - x.score || x.i - y.i);
  const chosen: ScoredMinute[] = [];
  let reference: ScoredMinute | undefined;
  for (const m of byScore) {
    if (chosen.length < allowance && chosen.every((c) => Math.abs(c.i - m.i) > 1)) chosen.push(m);
    else {
      reference = m;
      break;
    }
  }
  // A minute no worse than the reference has nothing to set aside.
  const spikes = chosen.filter((c) => reference === undefined || c.score > reference.score).map((c) => c.i);
  return { spikes, reference: reference?.i };
}
