import type {
  Action,
  CreateTargetGroupCommandInput,
  DeleteTargetGroupCommandInput,
  DeregisterTargetsCommandInput,
  DescribeListenersCommandInput,
  DescribeLoadBalancersCommandInput,
  DescribeRulesCommandInput,
  DescribeTagsCommandInput,
  DescribeTargetGroupAttributesCommandInput,
  DescribeTargetGroupsCommandInput,
  DescribeTargetHealthCommandInput,
  Listener,
  LoadBalancer,
  ModifyListenerCommandInput,
  ModifyTargetGroupAttributesCommandInput,
  RegisterTargetsCommandInput,
  TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { required, state, type Handler, type HandlerContext } from './context.js';
import { fail } from './errors.js';
import { DEFAULT_DEREGISTRATION_DELAY_SECONDS, forwardAt, instanceOf, listedAt, targetHealthAt } from './target-health.js';
import { instanceState, nextHex, type ForwardTarget, type ListenerRecord, type LoadBalancerRecord, type TargetGroupRecord } from './world.js';

/** Elastic Load Balancing v2: application load balancers, listeners with weighted forwards, target groups. */

const TARGET_GROUP_NAME = /^(?!-)[A-Za-z0-9-]{1,32}(?<!-)$/;
const MAX_WEIGHT = 999;

function arnPrefix(ctx: HandlerContext): string {
  return `arn:aws:elasticloadbalancing:${ctx.region}:${ctx.world.accountId}:`;
}

/** `targetgroup/<name>/<hex>`, the TargetGroup dimension of AWS/ApplicationELB metrics. */
export function targetGroupDimension(arn: string): string {
  return arn.slice(arn.indexOf(':targetgroup/') + 1);
}

/** `app/<name>/<hex>`, the LoadBalancer dimension. */
export function loadBalancerDimension(arn: string): string {
  return arn.slice(arn.indexOf(':loadbalancer/') + ':loadbalancer/'.length);
}

export function targetGroupArn(ctx: HandlerContext, name: string): string {
  return `${arnPrefix(ctx)}targetgroup/${name}/${nextHex(ctx.world, 'targetgroup')}`;
}

export function loadBalancerArn(ctx: HandlerContext, name: string): string {
  return `${arnPrefix(ctx)}loadbalancer/app/${name}/${nextHex(ctx.world, 'loadbalancer')}`;
}

export function listenerArn(ctx: HandlerContext, loadBalancer: string): string {
  return `${arnPrefix(ctx)}listener/${loadBalancerDimension(loadBalancer)}/${nextHex(ctx.world, 'listener')}`;
}

function targetGroupsNotFound(): never {
  return fail('TargetGroupNotFound', 'One or more target groups not found');
}

function findTargetGroup(ctx: HandlerContext, arn: string | undefined): TargetGroupRecord {
  const group = state(ctx).targetGroups.find((g) => g.arn === required(arn, 'TargetGroupArn'));
  return group ?? targetGroupsNotFound();
}

function findLoadBalancer(ctx: HandlerContext, arn: string): LoadBalancerRecord {
  return state(ctx).loadBalancers.find((lb) => lb.arn === arn) ?? fail('LoadBalancerNotFound', 'One or more load balancers not found');
}

function listenersOf(ctx: HandlerContext, group: TargetGroupRecord): ListenerRecord[] {
  return state(ctx).listeners.filter((l) => forwardAt(l, ctx.now).some((t) => t.targetGroupArn === group.arn));
}

function describeTargetGroup(ctx: HandlerContext, group: TargetGroupRecord): TargetGroup {
  const hc = group.healthCheck;
  return {
    TargetGroupArn: group.arn,
    TargetGroupName: group.name,
    Protocol: group.protocol as TargetGroup['Protocol'],
    Port: group.port,
    VpcId: group.vpcId,
    HealthCheckProtocol: hc.protocol as TargetGroup['HealthCheckProtocol'],
    HealthCheckPort: hc.port,
    HealthCheckEnabled: true,
    HealthCheckIntervalSeconds: hc.intervalSeconds,
    HealthCheckTimeoutSeconds: hc.timeoutSeconds,
    HealthyThresholdCount: hc.healthyThreshold,
    UnhealthyThresholdCount: hc.unhealthyThreshold,
    HealthCheckPath: hc.path,
    Matcher: { HttpCode: hc.matcher },
    LoadBalancerArns: [...new Set(listenersOf(ctx, group).map((l) => l.loadBalancerArn))],
    TargetType: 'instance',
    ProtocolVersion: 'HTTP1',
    IpAddressType: 'ipv4',
  };
}

function describeTargetGroups(ctx: HandlerContext, input: DescribeTargetGroupsCommandInput) {
  const all = state(ctx).targetGroups;
  let groups = all;
  if (input.TargetGroupArns?.length) {
    if (input.TargetGroupArns.some((arn) => !all.some((g) => g.arn === arn))) targetGroupsNotFound();
    groups = all.filter((g) => input.TargetGroupArns!.includes(g.arn));
  }
  if (input.Names?.length) {
    if (input.Names.some((name) => !all.some((g) => g.name === name))) targetGroupsNotFound();
    groups = groups.filter((g) => input.Names!.includes(g.name));
  }
  if (input.LoadBalancerArn) {
    findLoadBalancer(ctx, input.LoadBalancerArn);
    groups = groups.filter((g) => listenersOf(ctx, g).some((l) => l.loadBalancerArn === input.LoadBalancerArn));
  }
  return { TargetGroups: groups.map((g) => describeTargetGroup(ctx, g)) };
}

/** What CreateTargetGroup makes of its input, defaults filled in as ELB fills them. */
function targetGroupRecord(ctx: HandlerContext, input: CreateTargetGroupCommandInput): Omit<TargetGroupRecord, 'arn' | 'createdAt' | 'targets'> {
  const name = required(input.Name, 'Name');
  if (!TARGET_GROUP_NAME.test(name)) {
    fail('ValidationError', `Target group name '${name}' can only contain characters that are alphanumeric characters or hyphens(-), must be no more than 32 characters, and must not begin or end with a hyphen`);
  }
  if (input.TargetType && input.TargetType !== 'instance') fail('ValidationError', `The simulated AWS models only target type 'instance'`);
  const protocol = required(input.Protocol, 'Protocol');
  return {
    name,
    protocol,
    port: required(input.Port, 'Port'),
    vpcId: required(input.VpcId, 'VpcId'),
    healthCheck: {
      protocol: input.HealthCheckProtocol ?? protocol,
      port: input.HealthCheckPort ?? 'traffic-port',
      path: input.HealthCheckPath ?? '/',
      intervalSeconds: input.HealthCheckIntervalSeconds ?? 30,
      timeoutSeconds: input.HealthCheckTimeoutSeconds ?? 5,
      healthyThreshold: input.HealthyThresholdCount ?? 5,
      unhealthyThreshold: input.UnhealthyThresholdCount ?? 2,
      matcher: input.Matcher?.HttpCode ?? '200',
    },
    tags: Object.fromEntries((input.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
  };
}

function createTargetGroup(ctx: HandlerContext, input: CreateTargetGroupCommandInput) {
  const fields = targetGroupRecord(ctx, input);
  const existing = state(ctx).targetGroups.find((g) => g.name === fields.name);
  if (existing) {
    // Creating the same group again returns it; the same name with other settings is refused (attributes are not CreateTargetGroup's).
    const same = JSON.stringify({ ...fields, tags: {} }) === JSON.stringify({ ...existing, arn: undefined, createdAt: undefined, targets: undefined, tags: {}, deregistrationDelaySeconds: undefined });
    if (!same) fail('DuplicateTargetGroupName', `A target group with the same name '${fields.name}' exists, but with different settings`);
    return { TargetGroups: [describeTargetGroup(ctx, existing)] };
  }
  const group: TargetGroupRecord = { ...fields, arn: targetGroupArn(ctx, fields.name), createdAt: ctx.now, targets: [] };
  state(ctx).targetGroups.push(group);
  return { TargetGroups: [describeTargetGroup(ctx, group)] };
}

/**
 * DeleteTargetGroup: refused (ResourceInUse) only while a listener's action forwards to the group; its
 * targets, draining ones included, do not hold it up ("Deleting a target group does not affect its
 * registered targets", ELB API reference), so a caller who wants in-flight requests finished waits for the drain.
 */
function deleteTargetGroup(ctx: HandlerContext, input: DeleteTargetGroupCommandInput) {
  const arn = required(input.TargetGroupArn, 'TargetGroupArn');
  const group = state(ctx).targetGroups.find((g) => g.arn === arn);
  // Deleting a group that is gone succeeds, as in ELB.
  if (!group) return {};
  if (listenersOf(ctx, group).length) fail('ResourceInUse', `Target group '${arn}' is currently in use by a listener or a rule`);
  state(ctx).targetGroups = state(ctx).targetGroups.filter((g) => g !== group);
  return {};
}

function active(group: TargetGroupRecord, id: string) {
  return group.targets.find((t) => t.id === id && t.deregisteredAt === undefined);
}

/** Registers instances (the group's port when none is given); registering one again changes nothing. */
export function register(ctx: HandlerContext, group: TargetGroupRecord, targets: { Id?: string; Port?: number }[], at = ctx.now): void {
  const invalid = targets.filter((t) => {
    const instance = t.Id ? instanceOf(ctx, t.Id) : undefined;
    return !instance || instanceState(instance, at) !== 'running';
  });
  if (invalid.length) {
    fail('InvalidTarget', `The following targets are not in a running state and can not be registered: '${invalid.map((t) => t.Id).join("', '")}'`);
  }
  for (const target of targets) {
    if (!active(group, target.Id!)) group.targets.push({ id: target.Id!, port: target.Port ?? group.port, registeredAt: at });
  }
}

export function deregister(group: TargetGroupRecord, ids: string[], at: number): void {
  for (const id of ids) {
    const target = active(group, id);
    if (target) target.deregisteredAt = at;
  }
}

function registerTargets(ctx: HandlerContext, input: RegisterTargetsCommandInput) {
  register(ctx, findTargetGroup(ctx, input.TargetGroupArn), required(input.Targets, 'Targets'));
  return {};
}

function deregisterTargets(ctx: HandlerContext, input: DeregisterTargetsCommandInput) {
  const group = findTargetGroup(ctx, input.TargetGroupArn);
  deregister(group, required(input.Targets, 'Targets').map((t) => required(t.Id, 'Targets.member.Id')), ctx.now);
  return {};
}

function describeTargetHealth(ctx: HandlerContext, input: DescribeTargetHealthCommandInput) {
  const group = findTargetGroup(ctx, input.TargetGroupArn);
  const visible = group.targets.filter((t) => listedAt(ctx, group, t, ctx.now));
  const latest = new Map(visible.map((t) => [t.id, t]));
  const asked = input.Targets?.length ? input.Targets.map((t) => required(t.Id, 'Targets.member.Id')) : [...latest.keys()];
  return {
    TargetHealthDescriptions: asked.map((id) => {
      const target = latest.get(id);
      const port = target?.port ?? group.port;
      const health = target
        ? targetHealthAt(ctx, group, target, ctx.now)
        : { state: 'unused' as const, reason: 'Target.NotRegistered', description: 'Target is not registered to the target group' };
      return {
        Target: { Id: id, Port: port },
        HealthCheckPort: group.healthCheck.port === 'traffic-port' ? String(port) : group.healthCheck.port,
        TargetHealth: { State: health.state, Reason: health.reason as never, Description: health.description },
      };
    }),
  };
}

const DEREGISTRATION_DELAY = 'deregistration_delay.timeout_seconds';

/** A target group's attributes as ELB lists them for an HTTP instance target group; only the deregistration delay can be changed here. */
function attributesOf(group: TargetGroupRecord) {
  return [
    { Key: 'stickiness.enabled', Value: 'false' },
    { Key: DEREGISTRATION_DELAY, Value: String(group.deregistrationDelaySeconds ?? DEFAULT_DEREGISTRATION_DELAY_SECONDS) },
    { Key: 'stickiness.type', Value: 'lb_cookie' },
    { Key: 'slow_start.duration_seconds', Value: '0' },
    { Key: 'load_balancing.algorithm.type', Value: 'round_robin' },
  ];
}

function describeTargetGroupAttributes(ctx: HandlerContext, input: DescribeTargetGroupAttributesCommandInput) {
  return { Attributes: attributesOf(findTargetGroup(ctx, input.TargetGroupArn)) };
}

/**
 * ModifyTargetGroupAttributes: `deregistration_delay.timeout_seconds`, 0 to 3,600 (default 300, ALB
 * guide, target group attributes), applies to targets deregistered from then on. An attribute set to
 * the value it has is accepted; other changes are refused, since the simulator does not model them.
 */
function modifyTargetGroupAttributes(ctx: HandlerContext, input: ModifyTargetGroupAttributesCommandInput) {
  const group = findTargetGroup(ctx, input.TargetGroupArn);
  const current = new Map(attributesOf(group).map((a) => [a.Key, a.Value]));
  let delay = group.deregistrationDelaySeconds;
  for (const attribute of required(input.Attributes, 'Attributes')) {
    const key = required(attribute.Key, 'Attributes.member.Key');
    const value = attribute.Value ?? '';
    if (key === DEREGISTRATION_DELAY) {
      const seconds = Number(value);
      if (!/^\d+$/.test(value) || seconds > 3600) fail('InvalidConfigurationRequest', `The value of '${DEREGISTRATION_DELAY}' must be between 0 and 3600 seconds`);
      delay = seconds;
    } else if (!current.has(key)) {
      fail('ValidationError', `Target group attribute key '${key}' is not recognized`);
    } else if (current.get(key) !== value) {
      fail('ValidationError', `The simulated AWS models only the target group attribute '${DEREGISTRATION_DELAY}', not changes to '${key}'`);
    }
  }
  group.deregistrationDelaySeconds = delay;
  return { Attributes: attributesOf(group) };
}

function describeLoadBalancer(ctx: HandlerContext, lb: LoadBalancerRecord): LoadBalancer {
  return {
    LoadBalancerArn: lb.arn,
    LoadBalancerName: lb.name,
    DNSName: lb.dnsName,
    CanonicalHostedZoneId: 'Z35SXDOTRQ7X7K',
    CreatedTime: new Date(lb.createdAt),
    Scheme: 'internet-facing',
    VpcId: lb.vpcId,
    State: { Code: 'active' },
    Type: 'application',
    AvailabilityZones: lb.subnets.map((SubnetId, i) => ({ SubnetId, ZoneName: `${ctx.region}${'abcdef'[i % 6]}` })),
    IpAddressType: 'ipv4',
  };
}

function describeLoadBalancers(ctx: HandlerContext, input: DescribeLoadBalancersCommandInput) {
  const all = state(ctx).loadBalancers;
  const byArn = input.LoadBalancerArns ?? [];
  const byName = input.Names ?? [];
  const missing = byArn.some((arn) => !all.some((lb) => lb.arn === arn)) || byName.some((name) => !all.some((lb) => lb.name === name));
  if (missing) fail('LoadBalancerNotFound', 'One or more load balancers not found');
  const selected = byArn.length || byName.length ? all.filter((lb) => byArn.includes(lb.arn) || byName.includes(lb.name)) : all;
  return { LoadBalancers: selected.map((lb) => describeLoadBalancer(ctx, lb)) };
}

function forwardAction(targetGroups: ForwardTarget[]): Action {
  return {
    Type: 'forward',
    // ELB names the single group in TargetGroupArn as well, when there is one.
    TargetGroupArn: targetGroups.length === 1 ? targetGroups[0]!.targetGroupArn : undefined,
    ForwardConfig: {
      TargetGroups: targetGroups.map((t) => ({ TargetGroupArn: t.targetGroupArn, Weight: t.weight })),
      TargetGroupStickinessConfig: { Enabled: false },
    },
  };
}

function describeListener(ctx: HandlerContext, listener: ListenerRecord): Listener {
  return {
    ListenerArn: listener.arn,
    LoadBalancerArn: listener.loadBalancerArn,
    Port: listener.port,
    Protocol: listener.protocol as Listener['Protocol'],
    DefaultActions: [forwardAction(forwardAt(listener, ctx.now))],
  };
}

function findListeners(ctx: HandlerContext, arns: string[]): ListenerRecord[] {
  const all = state(ctx).listeners;
  if (arns.some((arn) => !all.some((l) => l.arn === arn))) fail('ListenerNotFound', 'One or more listeners not found');
  return all.filter((l) => arns.includes(l.arn));
}

function describeListeners(ctx: HandlerContext, input: DescribeListenersCommandInput) {
  if (input.ListenerArns?.length) return { Listeners: findListeners(ctx, input.ListenerArns).map((l) => describeListener(ctx, l)) };
  if (!input.LoadBalancerArn) fail('ValidationError', 'A load balancer ARN or listener ARNs must be specified');
  findLoadBalancer(ctx, input.LoadBalancerArn);
  return { Listeners: state(ctx).listeners.filter((l) => l.loadBalancerArn === input.LoadBalancerArn).map((l) => describeListener(ctx, l)) };
}

/** The target groups a forward action sends to, checked as ELB checks them. */
function forwardTargets(ctx: HandlerContext, actions: Action[]): ForwardTarget[] {
  if (actions.length !== 1) fail('ValidationError', 'The simulated AWS models exactly one default action per listener');
  const action = actions[0]!;
  if (action.Type !== 'forward') fail('ValidationError', `The simulated AWS models only 'forward' actions, not '${action.Type}'`);
  const configured = action.ForwardConfig?.TargetGroups;
  let targets: ForwardTarget[];
  if (configured?.length) {
    targets = configured.map((t, i) => {
      const weight = t.Weight ?? 1;
      if (!Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT) {
        fail('ValidationError', `1 validation error detected: Value '${weight}' at 'defaultActions.1.member.forwardConfig.targetGroups.${i + 1}.member.weight' failed to satisfy constraint: Member must have value ${weight < 0 ? 'greater than or equal to 0' : `less than or equal to ${MAX_WEIGHT}`}`);
      }
      return { targetGroupArn: required(t.TargetGroupArn, 'TargetGroupArn'), weight };
    });
    if (action.TargetGroupArn && (targets.length !== 1 || targets[0]!.targetGroupArn !== action.TargetGroupArn)) {
      fail('ValidationError', 'You cannot specify both a target group ARN and a forward config with different target groups');
    }
  } else if (action.TargetGroupArn) {
    targets = [{ targetGroupArn: action.TargetGroupArn, weight: 1 }];
  } else {
    return fail('ValidationError', 'A forward action needs a target group ARN or a forward config');
  }
  if (targets.length > 5) fail('TooManyTargetGroups', 'You have reached the limit on the number of target groups per action (5)');
  if (new Set(targets.map((t) => t.targetGroupArn)).size !== targets.length) fail('ValidationError', 'A target group can be specified only once in a forward action');
  for (const target of targets) findTargetGroup(ctx, target.targetGroupArn);
  return targets;
}

function modifyListener(ctx: HandlerContext, input: ModifyListenerCommandInput) {
  const [listener] = findListeners(ctx, [required(input.ListenerArn, 'ListenerArn')]);
  if (input.Port !== undefined) listener!.port = input.Port;
  if (input.Protocol !== undefined) listener!.protocol = input.Protocol;
  if (input.DefaultActions) listener!.forwards.push({ from: ctx.now, targetGroups: forwardTargets(ctx, input.DefaultActions) });
  return { Listeners: [describeListener(ctx, listener!)] };
}

function describeRules(ctx: HandlerContext, input: DescribeRulesCommandInput) {
  const [listener] = findListeners(ctx, [required(input.ListenerArn, 'ListenerArn')]);
  const ruleArn = listener!.arn.replace(':listener/', ':listener-rule/') + '/default';
  return {
    Rules: [{ RuleArn: ruleArn, Priority: 'default', Conditions: [], Actions: [forwardAction(forwardAt(listener!, ctx.now))], IsDefault: true }],
  };
}

/** Tags of target groups and load balancers by ARN; an unknown ARN is refused as ELB refuses it. */
function describeTags(ctx: HandlerContext, input: DescribeTagsCommandInput) {
  const arns = required(input.ResourceArns, 'ResourceArns');
  if (arns.length > 20) fail('ValidationError', 'You can specify up to 20 resource ARNs');
  return {
    TagDescriptions: arns.map((arn) => {
      const group = state(ctx).targetGroups.find((g) => g.arn === arn);
      if (group) return { ResourceArn: arn, Tags: Object.entries(group.tags).map(([Key, Value]) => ({ Key, Value })) };
      if (state(ctx).loadBalancers.some((lb) => lb.arn === arn)) return { ResourceArn: arn, Tags: [] };
      return arn.includes(':targetgroup/') ? targetGroupsNotFound() : fail('LoadBalancerNotFound', 'One or more load balancers not found');
    }),
  };
}

export const elbv2Handlers: Record<string, Handler> = {
  DescribeTags: describeTags,
  DescribeLoadBalancers: describeLoadBalancers,
  DescribeTargetGroups: describeTargetGroups,
  CreateTargetGroup: createTargetGroup,
  DeleteTargetGroup: deleteTargetGroup,
  DescribeTargetGroupAttributes: describeTargetGroupAttributes,
  ModifyTargetGroupAttributes: modifyTargetGroupAttributes,
  RegisterTargets: registerTargets,
  DeregisterTargets: deregisterTargets,
  DescribeTargetHealth: describeTargetHealth,
  DescribeListeners: describeListeners,
  ModifyListener: modifyListener,
  DescribeRules: describeRules,
};
