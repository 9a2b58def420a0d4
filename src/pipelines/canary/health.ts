import type { AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import type { AwsClients } from '../../aws/clients.js';
import { describeGroup } from '../../aws/fleet.js';
import { describeReport, targetGroupName, targetReports, type TargetReport } from '../../aws/traffic.js';
import { StepFailure } from '../../operations/pipeline.js';

/** A group wait-healthy waits for, and the target groups its instances must be healthy in. */
export interface HealthWatch {
  role: string;
  group: string;
  targetGroups: string[];
}

type Look = { done: true; value: string[] } | { done: false; seen: string };

/**
 * Health as the load balancer reports it, look after look. A new target is 'initial' for a while,
 * and inside its group's health-check grace period an instance still starting may report
 * 'unhealthy' before it settles: Auto Scaling does not act on that (HealthCheckGracePeriod, in the
 * Auto Scaling API reference), and neither does the canary. Unhealthy after the grace period, or
 * marked Unhealthy by its group, fails, naming the target and AWS's reason code and description.
 */
export class HealthLooks {
  /** When each instance was first seen InService: its grace period runs from then. */
  private readonly since = new Map<string, number>();
  /** The latest 'unhealthy' report of each instance, said when it fails after all. */
  private readonly unhealthy = new Map<string, string>();

  constructor(
    private readonly aws: AwsClients,
    private readonly region: string,
    private readonly instances: number,
    /** Said once per instance that reports unhealthy inside its grace period. */
    private readonly notice: (text: string) => Promise<void>,
  ) {}

  async look(watches: HealthWatch[], now: number): Promise<Look> {
    const ready: string[] = [];
    for (const watch of watches) {
      const group = await describeGroup(this.aws, this.region, watch.group);
      const look = await this.lookAt(watch, group, now);
      if (!look.done) return look;
      ready.push(...look.value);
    }
    return { done: true, value: ready };
  }

  private async lookAt(watch: HealthWatch, group: AutoScalingGroup | undefined, now: number): Promise<Look> {
    const { role } = watch;
    const graceMs = (group?.HealthCheckGracePeriod ?? 0) * 1000;
    const members = group?.Instances ?? [];
    for (const member of members) {
      const id = member.InstanceId;
      if (!id) continue;
      if (member.LifecycleState === 'InService' && !this.since.has(id)) this.since.set(id, now);
      // The group marks an instance Unhealthy only after its grace period, and then replaces it.
      if (member.HealthStatus === 'Unhealthy' && this.since.has(id)) {
        throw new StepFailure(`${role} instance ${id} was marked Unhealthy by ${watch.group} after its ${graceMs / 1000} s health-check grace period${this.unhealthy.has(id) ? `; the load balancer reported it ${this.unhealthy.get(id)}` : ''}`);
      }
    }
    const inService = members.filter((m) => m.LifecycleState === 'InService' && m.HealthStatus === 'Healthy' && m.InstanceId).map((m) => m.InstanceId!);
    if (inService.length < this.instances) return { done: false, seen: `${role}: ${inService.length} of ${this.instances} in service` };

    const notHealthy: string[] = [];
    const waitingOn = new Set<string>();
    for (const targetGroup of watch.targetGroups) {
      const reports = await targetReports(this.aws, this.region, targetGroup);
      for (const id of inService) {
        const report: TargetReport | undefined = reports.get(id);
        if (report?.state === 'healthy') continue;
        const said = `${describeReport(report)} in ${targetGroupName(targetGroup)}`;
        notHealthy.push(`${id} ${said}`);
        waitingOn.add(id);
        if (report?.state !== 'unhealthy') continue;
        const firstTime = !this.unhealthy.has(id);
        this.unhealthy.set(id, said);
        if (now >= this.since.get(id)! + graceMs) {
          throw new StepFailure(`${role} instance ${id} is still ${said} after its ${graceMs / 1000} s health-check grace period`);
        }
        if (firstTime) await this.notice(`${role} instance ${id} reports ${said} inside its ${graceMs / 1000} s health-check grace period; waiting for it to settle`);
      }
    }
    if (notHealthy.length) return { done: false, seen: `${role}: ${inService.length - waitingOn.size} of ${this.instances} healthy; ${notHealthy.join('; ')}` };
    return { done: true, value: inService };
  }
}
