import {
  CreateTargetGroupCommand,
  DeleteTargetGroupCommand,
  DescribeListenersCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ModifyListenerCommand,
  type Action,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { AwsClients } from './clients.js';
import { errorCode } from './errors.js';

/*
 * Traffic, as the load balancer sees it: target health, the canary's own target group, and the
 * listener's weights between target groups (ALB weighted forwarding).
 */

/** Instance id → its health in the target group ('healthy', 'initial', 'unhealthy', 'draining'…). */
export async function targetHealth(aws: AwsClients, region: string, targetGroupArn: string): Promise<Map<string, string>> {
  const result = await aws.elbv2(region).send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }));
  const health = new Map<string, string>();
  for (const target of result.TargetHealthDescriptions ?? []) {
    if (target.Target?.Id) health.set(target.Target.Id, target.TargetHealth?.State ?? 'unknown');
  }
  return health;
}

/**
 * How a group's members stand in every target group they serve: healthy in all of them, or failing
 * a health check in one (a new instance is 'initial' for a while, which is neither).
 */
export async function membersHealth(aws: AwsClients, region: string, members: string[], targetGroups: string[]): Promise<{ healthy: string[]; failing: string[] }> {
  let healthy = members;
  const failing = new Set<string>();
  for (const targetGroup of targetGroups) {
    const health = await targetHealth(aws, region, targetGroup);
    healthy = healthy.filter((id) => health.get(id) === 'healthy');
    for (const id of members) if (health.get(id) === 'unhealthy') failing.add(id);
  }
  return { healthy, failing: [...failing] };
}

/** Sends all of the listener's traffic to these target groups; the others stay registered at weight 0. */
export async function forwardOnlyTo(aws: AwsClients, region: string, listenerArn: string, targetGroups: string[]): Promise<void> {
  const weights = await listenerWeights(aws, region, listenerArn);
  for (const target of weights.keys()) weights.set(target, 0);
  for (const target of targetGroups) weights.set(target, 1);
  await setListenerWeights(aws, region, listenerArn, weights);
}

/**
 * A target group for the canary, a copy of the live one (protocol, port, VPC, health check) under
 * its own name. Made again after a crash it is found by name instead.
 */
export async function createTargetGroupLike(aws: AwsClients, region: string, liveArn: string, name: string, tags: Record<string, string>): Promise<string> {
  const elb = aws.elbv2(region);
  const live = (await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [liveArn] }))).TargetGroups?.[0];
  if (!live) throw new Error(`the live target group ${liveArn} is not there`);
  try {
    const created = await elb.send(
      new CreateTargetGroupCommand({
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
      }),
    );
    const arn = created.TargetGroups?.[0]?.TargetGroupArn;
    if (!arn) throw new Error(`CreateTargetGroup ${name} returned no ARN`);
    return arn;
  } catch (error) {
    if (errorCode(error) !== 'DuplicateTargetGroupNameException') throw error;
    const existing = (await elb.send(new DescribeTargetGroupsCommand({ Names: [name] }))).TargetGroups?.[0]?.TargetGroupArn;
    if (!existing) throw error;
    return existing;
  }
}

export async function deleteTargetGroup(aws: AwsClients, region: string, arn: string): Promise<void> {
  try {
    await aws.elbv2(region).send(new DeleteTargetGroupCommand({ TargetGroupArn: arn }));
  } catch (error) {
    if (errorCode(error) !== 'TargetGroupNotFoundException') throw error;
  }
}

/** The listener's forward weights by target group ARN (a plain forward counts as weight 1). */
export async function listenerWeights(aws: AwsClients, region: string, listenerArn: string): Promise<Map<string, number>> {
  const listener = (await aws.elbv2(region).send(new DescribeListenersCommand({ ListenerArns: [listenerArn] }))).Listeners?.[0];
  if (!listener) throw new Error(`listener ${listenerArn} is not there`);
  const forward = listener.DefaultActions?.find((action) => action.Type === 'forward');
  const weights = new Map<string, number>();
  for (const group of forward?.ForwardConfig?.TargetGroups ?? []) if (group.TargetGroupArn) weights.set(group.TargetGroupArn, group.Weight ?? 1);
  if (weights.size === 0 && forward?.TargetGroupArn) weights.set(forward.TargetGroupArn, 1);
  return weights;
}

/** Forwards the listener's traffic by these weights; a weight of 0 keeps the group registered but idle. */
export async function setListenerWeights(aws: AwsClients, region: string, listenerArn: string, weights: Map<string, number>): Promise<void> {
  const action: Action = {
    Type: 'forward',
    ForwardConfig: { TargetGroups: [...weights].map(([TargetGroupArn, Weight]) => ({ TargetGroupArn, Weight })) },
  };
  await aws.elbv2(region).send(new ModifyListenerCommand({ ListenerArn: listenerArn, DefaultActions: [action] }));
}

/** CloudWatch's dimension values for a target group and its load balancer, from their ARNs. */
export function targetGroupDimension(arn: string): string {
  return arn.slice(arn.indexOf('targetgroup/'));
}
export function loadBalancerDimension(listenerArn: string): string {
  const path = listenerArn.slice(listenerArn.indexOf('listener/') + 'listener/'.length);
  return path.split('/').slice(0, 3).join('/');
}
