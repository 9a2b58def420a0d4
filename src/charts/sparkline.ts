/*
 * Text sparklines for a chat that cannot show pictures (the terminal): one block character per
 * interval, ▁ lowest to █ highest, a space where the interval had no data.
 */
const bars = '▁▂▃▄▅▆▇█';

export interface SparklineScale {
  min: number;
  max: number;
}

/**
 * One character per value. Scaled to the values' own range unless `scale` is given, so that two
 * series drawn on one scale (canary and baseline) can be compared by eye.
 */
export function sparkline(values: (number | null)[], scale: SparklineScale | undefined = rangeOf(values)): string {
  if (!scale) return values.map(() => ' ').join('');
  const span = scale.max - scale.min;
  return values
    .map((value) => {
      if (!isNumber(value)) return ' ';
      // A flat series (or a value on a zero-width scale) sits mid-height: neither low nor high.
      if (!(span > 0)) return bars[3];
      const level = Math.round(((value - scale.min) / span) * (bars.length - 1));
      return bars[Math.min(bars.length - 1, Math.max(0, level))];
    })
    .join('');
}

/** The smallest and largest numbers among the values, or undefined when there are none. */
export function rangeOf(...series: (number | null)[][]): SparklineScale | undefined {
  const numbers = series.flat().filter(isNumber);
  if (numbers.length === 0) return undefined;
  return { min: Math.min(...numbers), max: Math.max(...numbers) };
}

export function isNumber(value: number | null | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
