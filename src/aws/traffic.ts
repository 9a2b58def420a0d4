import type { Action } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { AwsClients } from './clients.js';
import { errorCode } from './errors.js';

/*
 * Traffic, as the load balancer sees it: target health, the canary's own target group, and the
 * listener's weights between target groups (ALB weighted forwarding).
 */

/** A target as the load balancer reports it: its state, and for any state but healthy AWS's reason code and description. */
export interface TargetReport {
  state: string;
  reason?: string;
  description?: string;
}

/** Instance id → how the target group reports it ('healthy', 'initial', 'unhealthy', 'unused', 'draining'). */
export async function targetReports(aws: AwsClients, region: string, targetGroupArn: string): Promise<Map<string, TargetReport>> {
  const result = await (await aws.elbv2(region)).describeTargetHealth({ TargetGroupArn: targetGroupArn });
  const reports = new Map<string, TargetReport>();
  for (const target of result.TargetHealthDescriptions ?? []) {
    const health = target.TargetHealth;
    if (target.Target?.Id) reports.set(target.Target.Id, { state: health?.State ?? 'unknown', reason: health?.Reason, description: health?.Description });
  }
  return reports;
}

/** "unhealthy (Target.FailedHealthChecks: Health checks failed)", as a thread says it. */
export function describeReport(report: TargetReport | undefined): string {
  if (!report) return 'not registered';
  const why = [report.reason, report.description].filter(Boolean).join(': ');
  return why ? `${report.state} (${why})` : report.state;
}

/** The target group's name, from its ARN (…:targetgroup/<name>/<hex>). */
export function targetGroupName(arn: string): string {
  return targetGroupDimension(arn).split('/')[1] ?? arn;
}

/** How a group's members stand in every target group they serve: the ones healthy in all of them. */
export async function membersHealth(aws: AwsClients, region: string, members: string[], targetGroups: string[]): Promise<{ healthy: string[] }> {
  let healthy = members;
  for (const targetGroup of targetGroups) {
    const reports = await targetReports(aws, region, targetGroup);
    healthy = healthy.filter((id) => reports.get(id)?.state === 'healthy');
  }
  return { healthy };
}

const DEREGISTRATION_DELAY = 'deregistration_delay.timeout_seconds';

/**
 * A target group for the canary, a copy of the live one (protocol, port, VPC, health check, and its
 * deregistration delay, so the canary's targets drain as the live fleet's do) under its own name.
 * Made again after a crash it is found by name instead.
 */
export async function createTargetGroupLike(aws: AwsClients, region: string, liveArn: string, name: string, tags: Record<string, string>): Promise<string> {
  const arn = await createTargetGroupCopy(aws, region, liveArn, name, tags);
  const elb = await aws.elbv2(region);
  const delay = (await elb.describeTargetGroupAttributes({ TargetGroupArn: liveArn })).Attributes?.find((a) => a.Key === DEREGISTRATION_DELAY);
  if (delay?.Value !== undefined) await elb.modifyTargetGroupAttributes({ TargetGroupArn: arn, Attributes: [{ Key: DEREGISTRATION_DELAY, Value: delay.Value }] });
  return arn;
}

async function createTargetGroupCopy(aws: AwsClients, region: string, liveArn: string, name: string, tags: Record<string, string>): Promise<string> {
  const elb = await aws.elbv2(region);
  const live = (await elb.describeTargetGroups({ TargetGroupArns: [liveArn] })).TargetGroups?.[0];
  if (!live) throw new Error(`the live target group ${liveArn} is not there`);
  try {
    const created = await elb.createTargetGroup({
      Name: name,
      Protocol: live.Protocol,
      Port: live.Port,
      VpcId: live.VpcId,
      TargetType: live.TargetType,
      HealthCheckProtocol: live.HealthCheckProtocol,
      HealthCheckPort: live.HealthCheckPort,
      HealthCheckPath: live.HealthCheckPath,
      HealthCheckIntervalSeconds: live.HealthCheckIntervalSeconds,
      HealthCheckTimeoutSeconds: live.HealthCheckTimeoutSeconds,
      HealthyThresholdCount: live.HealthyThresholdCount,
      UnhealthyThresholdCount: live.UnhealthyThresholdCount,
      Matcher: live.Matcher,
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    });
    const arn = created.TargetGroups?.[0]?.TargetGroupArn;
    if (!arn) throw new Error(`CreateTargetGroup ${name} returned no ARN`);
    return arn;
  } catch (error) {
    if (errorCode(error) !== 'DuplicateTargetGroupNameException') throw error;
    const existing = (await elb.describeTargetGroups({ Names: [name] })).TargetGroups?.[0]?.TargetGroupArn;
    if (!existing) throw error;
    return existing;
  }
}

export async function deleteTargetGroup(aws: AwsClients, region: string, arn: string): Promise<void> {
  try {
    await (await aws.elbv2(region)).deleteTargetGroup({ TargetGroupArn: arn });
  } catch (error) {
    if (errorCode(error) !== 'TargetGroupNotFoundException') throw error;
  }
}

/**
 * Deletes a target group Bakery made once no listener or rule forwards to it (DescribeTargetGroups'
 * LoadBalancerArns); the caller has taken its group out of it. One that is not Bakery's stays, as
 * does one a listener still uses; what it did is returned for the thread.
 */
export async function deleteTargetGroupWhenUnused(aws: AwsClients, region: string, arn: string): Promise<'deleted' | 'gone' | 'in use' | 'not ours'> {
  const elb = await aws.elbv2(region);
  let group;
  try {
    group = (await elb.describeTargetGroups({ TargetGroupArns: [arn] })).TargetGroups?.[0];
  } catch (error) {
    if (errorCode(error) === 'TargetGroupNotFoundException') return 'gone';
    throw error;
  }
  if (!group) return 'gone';
  const tags = (await elb.describeTags({ ResourceArns: [arn] })).TagDescriptions?.[0]?.Tags ?? [];
  if (!tags.some((tag) => tag.Key === 'bakery:created-by' && tag.Value === 'bakery')) return 'not ours';
  if ((group.LoadBalancerArns ?? []).length > 0) return 'in use';
  await deleteTargetGroup(aws, region, arn);
  return 'deleted';
}

/** One entry of a listener's weighted forward. */
export interface WeightedTargetGroup {
  arn: string;
  weight: number;
}

/** A listener change refused because it would send requests to a target group with no healthy target; it was undone. */
export class TrafficRefused extends Error {
  override name = 'TrafficRefused';
}

/** ELB's limit on a weight (ForwardConfig.TargetGroups[].Weight, 0 to 999). */
const MAX_WEIGHT = 999;

interface Forward {
  /** The listener's default actions as read: ModifyListener replaces the whole list, so all of it is written back. */
  actions: Action[];
  index: number;
  groups: WeightedTargetGroup[];
}

async function readForward(aws: AwsClients, region: string, listenerArn: string): Promise<Forward> {
  const listener = (await (await aws.elbv2(region)).describeListeners({ ListenerArns: [listenerArn] })).Listeners?.[0];
  if (!listener) throw new Error(`listener ${listenerArn} is not there`);
  const actions = listener.DefaultActions ?? [];
  const index = actions.findIndex((action) => action.Type === 'forward');
  if (index < 0) throw new TrafficRefused(`listener ${listenerArn} has no forward action to weigh (${actions.map((a) => a.Type).join(', ') || 'none'})`);
  const forward = actions[index]!;
  const configured = forward.ForwardConfig?.TargetGroups ?? [];
  // A plain forward (TargetGroupArn alone) is one group at weight 1.
  const groups = configured.length
    ? configured.map((group) => ({ arn: group.TargetGroupArn ?? '', weight: group.Weight ?? 1 }))
    : forward.TargetGroupArn ? [{ arn: forward.TargetGroupArn, weight: 1 }] : [];
  return { actions, index, groups };
}

/**
 * The default actions with only the forward's target groups replaced: order, stickiness and every
 * other action stay as read. An OIDC action is read without its client secret, and ModifyListener
 * then needs UseExistingClientSecret (ELB API reference, AuthenticateOidcActionConfig).
 */
function actionsWith(forward: Forward, groups: WeightedTargetGroup[]): Action[] {
  return forward.actions.map((action, i) => {
    if (i === forward.index) {
      // TargetGroupArn beside a ForwardConfig of other groups is refused, so the ForwardConfig alone says it.
      return { ...action, TargetGroupArn: undefined, ForwardConfig: { ...action.ForwardConfig, TargetGroups: groups.map((g) => ({ TargetGroupArn: g.arn, Weight: g.weight })) } };
    }
    const oidc = action.AuthenticateOidcConfig;
    return oidc && !oidc.ClientSecret ? { ...action, AuthenticateOidcConfig: { ...oidc, UseExistingClientSecret: true } } : action;
  });
}

const sameGroups = (a: WeightedTargetGroup[], b: WeightedTargetGroup[]): boolean =>
  a.length === b.length && a.every((group, i) => group.arn === b[i]!.arn && group.weight === b[i]!.weight);

/** The listener's forward, by target group ARN and weight, in the listener's order. */
export async function listenerForward(aws: AwsClients, region: string, listenerArn: string): Promise<WeightedTargetGroup[]> {
  return (await readForward(aws, region, listenerArn)).groups;
}

/** Target groups given weight that have no healthy target, each with what its targets report. */
async function withoutHealthyTargets(aws: AwsClients, region: string, groups: WeightedTargetGroup[]): Promise<string[]> {
  const empty: string[] = [];
  for (const group of groups.filter((g) => g.weight > 0)) {
    const reports = await targetReports(aws, region, group.arn);
    if ([...reports.values()].some((report) => report.state === 'healthy')) continue;
    const targets = [...reports].map(([id, report]) => `${id} ${describeReport(report)}`);
    empty.push(`${targetGroupName(group.arn)} (${targets.length ? targets.join(', ') : 'no targets registered'})`);
  }
  return empty;
}

/**
 * Changes the listener's forward by `change` and nothing else: read it, change only what `change`
 * changes, write the whole default action list back (ModifyListener replaces it), read it back. If
 * the result gives weight to a target group without a healthy target (an ALB answers 503 there), the
 * listener is put back as it was read and the change fails, loudly.
 */
export async function changeForward(
  aws: AwsClients,
  region: string,
  listenerArn: string,
  change: (groups: WeightedTargetGroup[]) => WeightedTargetGroup[],
): Promise<WeightedTargetGroup[]> {
  const elb = await aws.elbv2(region);
  const before = await readForward(aws, region, listenerArn);
  const wanted = change(before.groups.map((group) => ({ ...group })));
  if (sameGroups(before.groups, wanted)) return before.groups;
  for (const group of wanted) {
    if (!Number.isInteger(group.weight) || group.weight < 0 || group.weight > MAX_WEIGHT) throw new TrafficRefused(`weight ${group.weight} for ${targetGroupName(group.arn)} is outside ELB's 0 to ${MAX_WEIGHT}`);
  }
  await elb.modifyListener({ ListenerArn: listenerArn, DefaultActions: actionsWith(before, wanted) });
  const after = await readForward(aws, region, listenerArn);
  const empty = await withoutHealthyTargets(aws, region, after.groups);
  if (empty.length) {
    await elb.modifyListener({ ListenerArn: listenerArn, DefaultActions: actionsWith(before, before.groups) });
    throw new TrafficRefused(`the listener would have forwarded traffic to ${empty.join('; ')}, which has no healthy target; it forwards as before again (${describeForward(before.groups)})`);
  }
  return after.groups;
}

/** "demo-live 9, demo-v2-1a2b 1". */
export function describeForward(groups: WeightedTargetGroup[]): string {
  return groups.map((group) => `${targetGroupName(group.arn)} ${group.weight}`).join(', ');
}

/** The canary's target group joins at weight 0: health-checked (a group no listener uses reports its targets 'unused'), no traffic. */
export function joinAtZero(canary: string): (groups: WeightedTargetGroup[]) => WeightedTargetGroup[] {
  return (groups) => (groups.some((g) => g.arn === canary) ? groups : [...groups, { arn: canary, weight: 0 }]);
}

/**
 * The canary's weight for `percent` % of the listener's traffic. Weights are relative integers, so
 * the others are multiplied by the smallest `scale` that makes the share exact (live 1 → 9, canary
 * 1 for 10 %): each keeps its share of the rest. The scale is undone when the canary leaves.
 */
export function canaryAt(canary: string, percent: number): { change: (groups: WeightedTargetGroup[]) => WeightedTargetGroup[]; scale: number } {
  const weighting = {
    scale: 1,
    change(groups: WeightedTargetGroup[]): WeightedTargetGroup[] {
      const current = groups.find((g) => g.arn === canary);
      // Already weighted (a resumed step): as it is.
      if (current && current.weight > 0) return groups;
      const rest = groups.filter((g) => g.arn !== canary);
      const sum = rest.reduce((total, g) => total + g.weight, 0);
      if (sum === 0) throw new TrafficRefused('the listener forwards no weight to any target group, so there is no traffic to share with the canary');
      let scale = (100 - percent) / gcd(sum * percent, 100 - percent);
      if (rest.some((g) => g.weight * scale > MAX_WEIGHT)) scale = 1;
      weighting.scale = scale;
      const weight = Math.max(1, Math.round((sum * scale * percent) / (100 - percent)));
      return [...rest.map((g) => ({ ...g, weight: g.weight * scale })), { arn: canary, weight }];
    },
  };
  return weighting;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** The others divided by `scale` again, when every one of them still divides by it (nobody changed them since). */
function unscaled(groups: WeightedTargetGroup[], scale: number): WeightedTargetGroup[] {
  if (scale <= 1 || groups.some((g) => g.weight % scale !== 0)) return groups;
  return groups.map((g) => ({ ...g, weight: g.weight / scale }));
}

/**
 * The canary stops taking traffic: its entry stays at weight 0, so its targets drain while a listener
 * still uses their group (it goes with withoutIdle once they have), and the others get back the
 * weights they had before it came. At 0 already (a resumed step): as it is.
 */
export function idled(canary: string, scale = 1): (groups: WeightedTargetGroup[]) => WeightedTargetGroup[] {
  return (groups) => {
    if (!groups.some((g) => g.arn === canary && g.weight > 0)) return groups;
    return [...unscaled(groups.filter((g) => g.arn !== canary), scale), { arn: canary, weight: 0 }];
  };
}

/** How many of the target group's targets are still draining (deregistered, finishing their in-flight requests). */
export async function drainingTargets(aws: AwsClients, region: string, targetGroupArn: string): Promise<number> {
  return [...(await targetReports(aws, region, targetGroupArn)).values()].filter((report) => report.state === 'draining').length;
}

/**
 * The red-black switch: the new fleet's group takes the old one's weight as it was before the
 * canary, the old one stays at 0 (its targets still health-checked, for an instant switch back), and
 * the others get their own weights back. Done already (a resumed step): as it is.
 */
export function switchedTo(next: string, old: string, scale = 1): (groups: WeightedTargetGroup[]) => WeightedTargetGroup[] {
  return (groups) => {
    const oldWeight = groups.find((g) => g.arn === old)?.weight ?? 0;
    if (oldWeight === 0) return groups;
    const rest = unscaled(groups.filter((g) => g.arn !== next), scale);
    const weight = rest.find((g) => g.arn === old)!.weight;
    return [...rest.map((g) => (g.arn === old ? { ...g, weight: 0 } : g)), { arn: next, weight }];
  };
}

/** The old group's entry, at weight 0 since the switch, goes once its fleet is drained; one given weight again by someone stays. */
export function withoutIdle(arn: string): (groups: WeightedTargetGroup[]) => WeightedTargetGroup[] {
  return (groups) => groups.filter((g) => g.arn !== arn || g.weight > 0);
}

/** Switching back: the old group takes the new one's weight, the new one goes to 0. */
export function switchedBack(old: string, next: string): (groups: WeightedTargetGroup[]) => WeightedTargetGroup[] {
  return (groups) => {
    const weight = groups.find((g) => g.arn === next)?.weight ?? 0;
    if (weight === 0) return groups;
    const withOld = groups.some((g) => g.arn === old) ? groups : [...groups, { arn: old, weight: 0 }];
    return withOld.map((g) => (g.arn === old ? { ...g, weight: g.weight + weight } : g.arn === next ? { ...g, weight: 0 } : g));
  };
}

/** CloudWatch's dimension values for a target group and its load balancer, from their ARNs. */
export function targetGroupDimension(arn: string): string {
  return arn.slice(arn.indexOf('targetgroup/'));
}
export function loadBalancerDimension(listenerArn: string): string {
  const path = listenerArn.slice(listenerArn.indexOf('listener/') + 'listener/'.length);
  return path.split('/').slice(0, 3).join('/');
}
