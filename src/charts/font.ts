/*
 * The chart's font, shipped as an npm dependency (Adobe's source-sans, OFL) rather than taken from
 * the system: the Docker image (node slim) has no fonts at all, and a chart whose text depends on
 * what a machine happens to have installed would differ, or be blank, from one machine to the next.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const chartFont = {
  family: 'Source Sans 3',
  regular: require.resolve('source-sans/TTF/SourceSans3-Regular.ttf'),
  bold: require.resolve('source-sans/TTF/SourceSans3-Bold.ttf'),
} as const;
