/*
 * The chart posted at the end of a canary window: one small panel per metric, canary against
 * baseline, the warm-up shaded and the verdict minute marked. vega-lite compiles the spec, vega
 * draws it to SVG headless (no canvas), resvg turns the SVG into a PNG with the font Bakery
 * ships (./font.ts), so the picture is the same on a laptop, in CI and in the Docker image.
 */
import { Resvg } from '@resvg/resvg-js';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { CanaryChartInput, CanaryChartMetric, MetricVerdict } from './canary-chart-input.js';
import { clockAt, intervalWords, outcomeWords } from './canary-chart-input.js';
import { chartFont } from './font.js';

type Panel = Extract<TopLevelSpec, { concat: unknown }>['concat'][number];
type Layer = Extract<Panel, { layer: unknown }>['layer'][number];

const colors = { canary: '#d9480f', baseline: '#1c7ed6', tolerance: '#74c0fc', warmup: '#e9ecef', basis: '#fff3bf', verdict: '#495057' };
const verdictColors: Record<MetricVerdict, string> = { Pass: '#2b8a3e', High: '#c92a2a', Low: '#c92a2a', Inconclusive: '#868e96' };
// Slack's preview shrinks a picture to the message's width: few, large letters read there; small ones do not.
const panel = { width: 320, height: 140 };
/** Pixels per SVG unit: crisp on high-density screens, still small to upload. */
const zoom = 2;
const margin = 16;

/** Renders the window's chart as a PNG. */
export async function renderCanaryChart(input: CanaryChartInput): Promise<Buffer> {
  const svg = await canaryChartSvg(input);
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: zoom },
    background: '#ffffff',
    font: { loadSystemFonts: false, fontFiles: [chartFont.regular, chartFont.bold], defaultFontFamily: chartFont.family, sansSerifFamily: chartFont.family },
    logLevel: 'off',
  });
  // vega sizes the picture by estimated text widths (it has no font metrics headless), which
  // leaves a wide blank margin beside long titles: crop to what was drawn, plus a margin.
  const drawn = resvg.getBBox();
  if (drawn) {
    drawn.x -= margin;
    drawn.y -= margin;
    drawn.width += 2 * margin;
    drawn.height += 2 * margin;
    resvg.cropByBBox(drawn);
  }
  return resvg.render().asPng();
}

/** The same chart as SVG text (vega's own headless renderer). */
export async function canaryChartSvg(input: CanaryChartInput): Promise<string> {
  const { spec } = compile(canaryChartSpec(input));
  const view = new View(parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The vega-lite spec: a grid of layered panels, two to a row. */
function canaryChartSpec(input: CanaryChartInput): TopLevelSpec {
  const step = positive(input.intervalMinutes, 1);
  const intervals = Math.max(1, ...input.metrics.map((m) => Math.max(m.canary.length, m.baseline.length)));
  const end = intervals * step;
  const panels = input.metrics.length > 0 ? input.metrics.map((metric) => metricPanel(metric, input, step, end)) : [emptyPanel()];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: input.title,
      subtitle: subtitle(input),
      anchor: 'start',
      fontSize: 18,
      subtitleFontSize: 13,
      subtitleColor: input.outcome === 'fail' ? verdictColors.High : input.outcome === 'pass' ? verdictColors.Pass : verdictColors.Inconclusive,
    },
    columns: Math.min(2, panels.length),
    concat: panels,
    config: {
      font: chartFont.family,
      // No background rect: resvg paints the background, and the crop sees only what was drawn.
      background: 'transparent',
      padding: 0,
      view: { stroke: '#dee2e6' },
      axis: { labelFontSize: 13, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#f1f3f5' },
      // A fixed room for the y axis lines the panels up whatever their numbers' widths.
      axisY: { minExtent: 48, maxExtent: 48 },
      legend: { orient: 'top', labelFontSize: 13, title: null },
      concat: { spacing: 24 },
    },
  };
}

function subtitle(input: CanaryChartInput): string[] {
  const verdict = input.verdictMinute === null ? 'no verdict yet' : `verdict at ${clockAt(input.start, input.verdictMinute)} (dotted line)`;
  const warmup = input.warmupMinutes > 0 ? `Warm-up until ${clockAt(input.start, input.warmupMinutes)} (grey), not judged. ` : '';
  const basis = input.metrics.some((m) => m.basis) ? 'Yellow: the minutes a verdict rests on. ' : '';
  const tolerance = input.metrics.some((m) => m.tolerance) ? 'Dashed: the baseline at its tolerance. ' : '';
  return [`Canary ${outcomeWords[input.outcome]}: ${verdict}.`, `${warmup}${basis}${tolerance}One point per ${intervalWords(positive(input.intervalMinutes, 1))} interval.`];
}

function metricPanel(metric: CanaryChartMetric, input: CanaryChartInput, step: number, end: number): Panel {
  const at = (minute: number): number => input.start + minute * 60_000;
  const points = [...series(metric.canary, 'canary', step, at), ...series(metric.baseline, 'baseline', step, at)];
  const x = {
    field: 'time',
    type: 'temporal' as const,
    title: null,
    scale: { type: 'utc' as const, domain: [at(0), at(end)], nice: false },
    axis: { format: '%H:%M', values: clockTicks(at(0), at(end)) },
  };
  const layers: Layer[] = [];
  const span = (from: number, to: number, color: string): Layer => ({
    data: { values: [{ from: at(from), to: at(to) }] },
    mark: { type: 'rect', color },
    encoding: { x: { field: 'from', type: 'temporal' }, x2: { field: 'to' } },
  });
  const warmup = Math.min(Math.max(0, input.warmupMinutes), end);
  if (warmup > 0) layers.push(span(0, warmup, colors.warmup));
  if (metric.basis) layers.push(span(Math.max(0, metric.basis.fromMinute - step), Math.min(end, metric.basis.toMinute), colors.basis));
  const y = { field: 'value', type: 'quantitative' as const, title: metric.unit, scale: { zero: false } };
  for (const [ratio, side] of [[metric.tolerance?.upper, 'upper'], [metric.tolerance?.lower, 'lower']] as const) {
    if (ratio === undefined) continue;
    const bound = metric.baseline.map((value) => (typeof value === 'number' && Number.isFinite(value) ? value * ratio : null));
    layers.push({
      data: { values: series(bound, `tolerance-${side}`, step, at) },
      mark: { type: 'line', color: colors.tolerance, strokeWidth: 1.5, strokeDash: [5, 3] },
      encoding: { x, y },
    });
  }
  layers.push({
    data: { values: points },
    mark: { type: 'line', point: { size: 18 }, strokeWidth: 2, ...(metric.gating ? {} : { strokeDash: [4, 3] }) },
    encoding: {
      x,
      y,
      color: {
        field: 'group',
        type: 'nominal',
        scale: { domain: ['canary', 'baseline'], range: [colors.canary, colors.baseline] },
      },
    },
  });
  if (points.every((point) => point.value === null)) {
    layers.push({
      data: { values: [{ text: 'No data in this window' }] },
      mark: { type: 'text', fontSize: 14, color: verdictColors.Inconclusive },
      encoding: { x: { value: panel.width / 2 }, y: { value: panel.height / 2 }, text: { field: 'text' } },
    });
  }
  if (input.verdictMinute !== null && Number.isFinite(input.verdictMinute)) {
    layers.push({
      data: { values: [{ time: at(input.verdictMinute), label: 'verdict' }] },
      layer: [
        { mark: { type: 'rule', color: colors.verdict, strokeWidth: 1.5, strokeDash: [2, 2] }, encoding: { x } },
        {
          mark: { type: 'text', color: colors.verdict, align: 'left', baseline: 'top', dx: 3, dy: 2, fontSize: 12 },
          encoding: { x, y: { value: 0 }, text: { field: 'label' } },
        },
      ],
    });
  }
  const figures = [metric.figures, metric.tolerance && `tolerance ${metric.tolerance.text}`, metric.basis?.label].filter(Boolean).join(' · ');
  return {
    width: panel.width,
    height: panel.height,
    title: {
      text: `${metric.label}${metric.unit ? ` (${metric.unit})` : ''}: ${metric.verdict}${metric.gating ? '' : ' · shadow, never fails'}`,
      ...(figures ? { subtitle: figures, subtitleFontSize: 12, subtitleColor: '#495057' } : {}),
      color: verdictColors[metric.verdict],
      anchor: 'start',
      fontSize: 15,
    },
    layer: layers,
  };
}

/** A window with no metrics still gets a picture that says so. */
function emptyPanel(): Panel {
  return {
    width: panel.width,
    height: panel.height,
    data: { values: [{ text: 'No metrics were judged in this window.' }] },
    mark: { type: 'text', fontSize: 13 },
    encoding: { text: { field: 'text' } },
  };
}

/** One point per interval, at the time the interval ends; a gap (null, NaN, ∞) stays a gap. */
function series(values: (number | null)[], group: string, step: number, at: (minute: number) => number): { time: number; group: string; value: number | null }[] {
  return values.map((value, index) => ({ time: at((index + 1) * step), group, value: typeof value === 'number' && Number.isFinite(value) ? value : null }));
}

/** Ticks on whole minutes of the clock, about six across the window, at a step a clock reads (1, 2, 5, 10, 15, 30, 60 min). */
function clockTicks(from: number, to: number): number[] {
  const minute = 60_000;
  const step = ([1, 2, 5, 10, 15, 30, 60].find((m) => (to - from) / (m * minute) <= 6) ?? 60) * minute;
  const ticks: number[] = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) ticks.push(t);
  return ticks;
}

function positive(value: number, fallback: number): number {
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

