// Minutes that move together. A slow minute is followed by slow minutes (GC cycles, caches,
// a noisy neighbour), so n minutes carry less evidence than n independent ones: every test
// that counts minutes is told how much less, from the lag-1 autocorrelation of the paired
// differences (each minute's canary over its own baseline, log scale), which shared drift
// cannot inflate. The noise is taken to be AR(1) with that autocorrelation.

/**
 * The least number of lag-1 pairs the autocorrelation is estimated from (its standard error
 * is about 1/√n). On fewer minutes they are taken as independent, as every test here took
 * them before: assuming the most autocorrelation the judge is built for (ρ = 0.8) instead
 * would leave no test able to fail anything before minute 11 (README: figures).
 */
export const LEAST_PAIRS = 10;
// An estimate is never taken past this: near 1 the AR(1) model says nothing can be learned.
const MOST_RHO = 0.95;

/**
 * The lag-1 autocorrelation of these residuals (each already centred on the mean its test
 * assumes, in time order), corrected for the bias of estimating it with the mean: E[r₁] ≈
 * ρ − (1 + 4ρ)/n (Kendall 1954; Marriott & Pope 1954), so ρ̂ = (n·r₁ + 1)/(n − 4). Floored at 0:
 * a negative estimate never narrows an interval.
 */
export function lagOneAutocorrelation(residuals: readonly number[]): number {
  const n = residuals.length;
  if (n - 1 < LEAST_PAIRS) return 0;
  let lagged = 0;
  let squares = 0;
  for (let t = 0; t < n; t++) {
    const e = residuals[t] ?? 0;
    squares += e * e;
    if (t > 0) lagged += e * (residuals[t - 1] ?? 0);
  }
  if (!(squares > 0)) return 0;
  const r1 = lagged / squares;
  return Math.min(MOST_RHO, Math.max(0, (n * r1 + 1) / (n - 4)));
}

/**
 * How much more the mean of m consecutive AR(1) values varies than the mean of m independent
 * ones: 1 + 2 Σₖ (1 − k/m) ρᵏ (Bayley & Hammersley 1946; m over it is the effective sample
 * size, which tends to m(1 − ρ)/(1 + ρ)).
 */
export function meanVarianceFactor(m: number, rho: number): number {
  if (!(rho > 0) || m <= 1) return 1;
  let sum = 0;
  let power = 1;
  for (let k = 1; k < m; k++) {
    power *= rho;
    sum += (1 - k / m) * power;
    if (power < 1e-12) break;
  }
  return 1 + 2 * sum;
}

/** The effective number of independent minutes among m consecutive ones. */
export function effectiveMinutes(m: number, rho: number): number {
  return m / meanVarianceFactor(m, rho);
}

/**
 * The lag-1 autocorrelation of the signs of a Gaussian AR(1) noise around its median, from its
 * own: (2/π)·asin(ρ) (the arcsine law, Van Vleck 1943). Beyond-or-within counts linger less
 * than the values they come from.
 */
export function signAutocorrelation(rho: number): number {
  return (2 / Math.PI) * Math.asin(Math.max(-1, Math.min(1, rho)));
}
