/*
 * Which instance types run on the Nitro hypervisor. Only those let GetConsoleOutput return the latest
 * console output; on the Xen ones EC2 posts the console only at start, stop and reboot. Families are
 * listed rather than Nitro ones because every family AWS has launched since 2017 is Nitro.
 */

/** Xen families, current and previous generation (AWS "Instances built on the Nitro System"). */
const xenFamilies = new Set([
  't1', 't2', 'm1', 'm2', 'm3', 'm4', 'c1', 'c3', 'c4', 'cc1', 'cc2', 'cg1', 'cr1', 'd2', 'f1',
  'g2', 'g3', 'g3s', 'h1', 'hi1', 'hs1', 'i2', 'i3', 'p2', 'p3', 'r3', 'r4', 'x1', 'x1e',
]);

/** Bare-metal sizes of Xen families that run on Nitro hardware. */
const nitroExceptions = new Set(['i3.metal']);

export function supportsLatestConsole(instanceType: string): boolean {
  if (nitroExceptions.has(instanceType)) return true;
  return !xenFamilies.has(instanceType.split('.')[0] ?? '');
}
