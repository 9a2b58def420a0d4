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
import { outcomeWords } from './canary-chart-input.js';
import { chartFont } from './font.js';

type Panel = Extract<TopLevelSpec, { concat: unknown }>['concat'][number];
type Layer = Extract<Panel, { layer: unknown }>['layer'][number];

const colors = { canary: '#d9480f', baseline: '#1c7ed6', warmup: '#e9ecef', verdict: '#495057' };
const verdictColors: Record<MetricVerdict, string> = { Pass: '#2b8a3e', High: '#c92a2a', Low: '#c92a2a', Inconclusive: '#868e96' };
const panel = { width: 360, height: 150 };
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
      fontSize: 16,
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
      axis: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: 'normal', gridColor: '#f1f3f5' },
      // A fixed room for the y axis lines the panels up whatever their numbers' widths.
      axisY: { minExtent: 44, maxExtent: 44 },
      legend: { orient: 'top', labelFontSize: 12, title: null },
      concat: { spacing: 24 },
    },
  };
}

function subtitle(input: CanaryChartInput): string[] {
  const verdict = input.verdictMinute === null ? 'no verdict yet' : `verdict at minute ${fmt(input.verdictMinute)} (dotted line)`;
  const warmup = input.warmupMinutes > 0 ? `First ${fmt(input.warmupMinutes)} min warm-up (shaded), not judged. ` : '';
  return [`Canary ${outcomeWords[input.outcome]}: ${verdict}.`, `${warmup}One point per ${fmt(positive(input.intervalMinutes, 1))} min.`];
}

function metricPanel(metric: CanaryChartMetric, input: CanaryChartInput, step: number, end: number): Panel {
  const points = [...series(metric.canary, 'canary', step), ...series(metric.baseline, 'baseline', step)];
  const x = { field: 'minute', type: 'quantitative' as const, title: 'minute', scale: { domain: [0, end], nice: false } };
  const layers: Layer[] = [];
  const warmup = Math.min(Math.max(0, input.warmupMinutes), end);
  if (warmup > 0) {
    layers.push({
      data: { values: [{ from: 0, to: warmup }] },
      mark: { type: 'rect', color: colors.warmup },
      encoding: { x: { field: 'from', type: 'quantitative' }, x2: { field: 'to' } },
    });
  }
  layers.push({
    data: { values: points },
    mark: { type: 'line', point: { size: 18 }, strokeWidth: 2, ...(metric.gating ? {} : { strokeDash: [4, 3] }) },
    encoding: {
      x,
      y: { field: 'value', type: 'quantitative', title: metric.unit, scale: { zero: false } },
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
      mark: { type: 'text', fontSize: 13, color: verdictColors.Inconclusive },
      encoding: { x: { value: panel.width / 2 }, y: { value: panel.height / 2 }, text: { field: 'text' } },
    });
  }
  if (input.verdictMinute !== null && Number.isFinite(input.verdictMinute)) {
    layers.push({
      data: { values: [{ minute: input.verdictMinute, label: 'verdict' }] },
      layer: [
        { mark: { type: 'rule', color: colors.verdict, strokeWidth: 1.5, strokeDash: [2, 2] }, encoding: { x: { field: 'minute', type: 'quantitative' } } },
        {
          mark: { type: 'text', color: colors.verdict, align: 'left', baseline: 'top', dx: 3, dy: 2, fontSize: 10 },
          encoding: { x: { field: 'minute', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
        },
      ],
    });
  }
  return {
    width: panel.width,
    height: panel.height,
    title: {
      text: `${metric.label}${metric.unit ? ` (${metric.unit})` : ''}: ${metric.verdict}${metric.gating ? '' : ' · shadow, never fails'}`,
      color: verdictColors[metric.verdict],
      anchor: 'start',
      fontSize: 13,
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

/** One point per interval, at the minute the interval ends; a gap (null, NaN, ∞) stays a gap. */
function series(values: (number | null)[], group: 'canary' | 'baseline', step: number): { minute: number; group: string; value: number | null }[] {
  return values.map((value, index) => ({ minute: (index + 1) * step, group, value: typeof value === 'number' && Number.isFinite(value) ? value : null }));
}

function positive(value: number, fallback: number): number {
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

function fmt(minutes: number): string {
  return Number.isInteger(minutes) ? String(minutes) : minutes.toFixed(1);
}
