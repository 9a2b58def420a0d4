import type { AwsClients } from '../aws/clients.js';
import { describeAwsError, isNotFound } from '../aws/errors.js';
import { listTagged, removeTagged, type TaggedKind, type TaggedResource } from '../aws/tagged.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { OperationStanding, SweepSummary } from '../store/items.js';
import type { Store } from '../store/store.js';
import { slotOf, takeSlot } from './schedule.js';
import { planSweep, type SweepDecision, type SweepPlan } from './sweep-plan.js';

export interface SweepDependencies {
  aws: AwsClients;
  store: Store;
  clock: Clock;
  log: Logger;
  /** This replica's name, kept on the slot it takes. */
  owner: string;
}

export interface SweepOutcome {
  dryRun: boolean;
  regions: string[];
  plan: SweepPlan;
  /** What was removed (a real run), in the order it went. */
  removed: SweepDecision[];
  /** What AWS refused this time (a dependency not yet gone, eventual consistency): the next sweep tries again. */
  left: (SweepDecision & { error: string })[];
  /** Regions that could not be listed, and why: nothing in them was touched. */
  unlisted: { region: string; error: string }[];
}

const MAX_SUMMARY_ITEMS = 100;

/**
 * Finds what Bakery tagged and its ended operations left behind (sweep-plan.ts decides), and removes
 * it in dependency order. No retry loop: a removal AWS refuses is left for the next sweep, which will
 * see the world a slot later.
 */
export class SweepJob {
  /** Operations that have ended never change again: asked of the store once per process. */
  private readonly endedOperations = new Map<string, OperationStanding>();

  constructor(private readonly deps: SweepDependencies) {}

  /** Takes the slot and sweeps; false when another replica (or an earlier run of this one) already has it. */
  async runSlot(slotMs: number): Promise<boolean> {
    if (!(await takeSlot(this.deps.store, 'sweep', slotMs, this.deps.owner, this.deps.log))) return false;
    const outcome = await this.sweep({ dryRun: false, by: 'schedule' });
    this.deps.log.info({ slot: slotOf(slotMs), removed: outcome.removed.length, left: outcome.left.length }, 'sweep done');
    return true;
  }

  /** Plans, and unless `dryRun`, removes; a real run is recorded for the digest and in each app's audit trail. */
  async sweep(options: { dryRun: boolean; by: string }): Promise<SweepOutcome> {
    const { aws, store, clock, log } = this.deps;
    const configs = await store.listAppConfigs();
    const regions = [...new Set(Object.values(configs).flatMap((config) => [config.region, ...config.copyTo]))].sort();
    const listed = await Promise.allSettled(regions.map((region) => listTagged(aws, region)));
    const resources: TaggedResource[] = [];
    const unlisted: SweepOutcome['unlisted'] = [];
    listed.forEach((result, index) => {
      if (result.status === 'fulfilled') resources.push(...result.value);
      else unlisted.push({ region: regions[index]!, error: describeAwsError(result.reason) });
    });
    for (const { region, error } of unlisted) log.warn({ region, error }, 'the sweep could not list a region');

    const operations = await this.operations(resources);
    const plan = planSweep({ resources, operations, releasedImages: await this.releasedImages(resources, operations), now: clock.now() });
    const outcome: SweepOutcome = { dryRun: options.dryRun, regions, plan, removed: [], left: [], unlisted };
    // Someone tagged these as Bakery's, or Bakery lost its record of them: a person should look, Bakery does not delete.
    for (const { resource, why } of plan.unrecorded) log.warn({ kind: resource.kind, id: resource.id, region: resource.region, operation: resource.operationId }, `the sweep left a tagged resource alone: ${why}`);
    if (options.dryRun) return outcome;

    // In order (builders, images, snapshots, volumes); one refusal does not stop the rest.
    for (const decision of plan.remove) {
      try {
        await removeTagged(aws, decision.resource);
        outcome.removed.push(decision);
      } catch (error) {
        // Gone already (another sweep, the bake's own cleanup): nothing left to do.
        if (isNotFound(error)) continue;
        outcome.left.push({ ...decision, error: describeAwsError(error) });
      }
    }
    for (const { resource, error } of outcome.left) log.info({ kind: resource.kind, id: resource.id, region: resource.region, error }, 'left for the next sweep');
    await this.record(outcome, options.by);
    return outcome;
  }

  /** The operations the resources name: ended ones from memory, the others from the store, 100 to a read. */
  private async operations(resources: TaggedResource[]): Promise<Map<string, OperationStanding>> {
    const ids = [...new Set(resources.flatMap((resource) => resource.operationId ?? []))];
    const found = new Map<string, OperationStanding>();
    const unknown = ids.filter((id) => {
      const ended = this.endedOperations.get(id);
      if (ended) found.set(id, ended);
      return !ended;
    });
    for (const [id, operation] of await this.deps.store.getOperationStandings(unknown)) {
      found.set(id, operation);
      if (operation.status !== 'running') this.endedOperations.set(id, operation);
    }
    return found;
  }

  /**
   * Images of recorded releases, among those the sweep might otherwise remove (an image whose bake did
   * not succeed): a release's image is never a leak, whatever its operation says.
   */
  private async releasedImages(resources: TaggedResource[], operations: Map<string, OperationStanding>): Promise<Set<string>> {
    const doubtful = resources.filter(
      (resource) => resource.kind === 'image' && resource.app && resource.version && operations.get(resource.operationId ?? '')?.status !== 'succeeded',
    );
    const versions = new Map(doubtful.map((resource) => [`${resource.app} ${resource.version}`, resource]));
    const released = new Set<string>();
    for (const { app, version } of versions.values()) {
      const release = await this.deps.store.getRelease(app!, version!);
      for (const ami of Object.values(release?.amis ?? {})) released.add(ami);
    }
    return released;
  }

  private async record(outcome: SweepOutcome, by: string): Promise<void> {
    const { store, clock } = this.deps;
    const now = clock.now();
    const removed: Record<TaggedKind, number> = { builder: 0, volume: 0, image: 0, snapshot: 0 };
    for (const { resource } of outcome.removed) removed[resource.kind]++;
    const summary: SweepSummary = {
      at: now,
      by,
      removed,
      left: outcome.left.length,
      ...(outcome.plan.unrecorded.length ? { unrecorded: outcome.plan.unrecorded.length } : {}),
      items: outcome.removed.slice(0, MAX_SUMMARY_ITEMS).map(({ resource }) => `${resource.kind} ${resource.id} ${resource.region} ${resource.app ?? '?'}`),
    };
    await store.putLastSweep(summary);
    const byApp = new Map<string, string[]>();
    for (const { resource } of outcome.removed) if (resource.app) byApp.set(resource.app, [...(byApp.get(resource.app) ?? []), `${resource.kind} ${resource.id} (${resource.region})`]);
    const configured = await store.listAppConfigs();
    for (const [app, items] of byApp) {
      if (!configured[app]) continue;
      await store.appendAudit({ app, at: now, actor: by, action: 'leftovers swept', detail: items.join(', ').slice(0, 1000) });
    }
  }
}
