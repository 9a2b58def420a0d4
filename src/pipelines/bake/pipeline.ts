import { metered } from '../metered.js';
import { randomBytes } from 'node:crypto';
import type { AwsClients } from '../../aws/clients.js';
import { builderConsole, describeInstance, findLiveBuilders, launchBuilder, terminateInstances } from '../../aws/builder.js';
import { copyImage, createImage, deleteImage, describeImage, findBakedImages, findImagesOfOperation, resolveBaseImage, shareImage, snapshotIdsOf } from '../../aws/images.js';
import { describeAwsError, errorCode, isNotFound, isTransient } from '../../aws/errors.js';
import { backoff, waitFor } from '../../aws/poll.js';
import { clientToken, imageName, type Provenance } from '../../aws/provenance.js';
import { untrustedText } from '../../message.js';
import type { Clock } from '../../clock.js';
import type { AppConfig } from '../../config/apps.js';
import { redactSecrets } from '../../log.js';
import { StepFailure, type Pipeline, type Step, type StepInput, type StepOutcome } from '../../operations/pipeline.js';
import type { Operation, OperationStatus } from '../../store/items.js';
import type { Store } from '../../store/store.js';
import { chooseBase, otherAppsImage } from './base.js';
import { bakeMessages, copiesMessage, digestCheck } from './messages.js';
import { recipeHash } from './recipe.js';
import { bakeParams, bakeState, type BakeState, type RegionCopy } from './state.js';
import { builderUserData, readBuilderReport, type BuilderReport, type Phase } from './user-data.js';

export interface BakeDependencies {
  aws: AwsClients;
  store: Store;
  clock: Clock;
  /** How often to ask AWS how a builder or image is getting on. */
  pollIntervalMs: number;
}

type Input = StepInput<BakeState>;
const minutes = (n: number): number => n * 60_000;

/**
 * EC2 is eventually consistent: for a while after RunInstances, CreateImage or CopyImage it may answer
 * NotFound for the new id. Until this long after Bakery made an id, NotFound means "not visible yet".
 */
const visibilityGraceMs = minutes(5);

/**
 * The bake, as an operator's runbook: resolve the base, make sure the image isn't already there,
 * launch a builder, provision it, smoke test it, image it, terminate the builder, share and copy the
 * image, record the release. Cleanup terminates the builder whatever happened.
 */
export function bakePipeline(deps: BakeDependencies): Pipeline<BakeState> {
  const { aws, store, clock, pollIntervalMs } = deps;

  function appOf(operation: Operation): AppConfig {
    return bakeParams.parse(operation.params).config;
  }

  function provenance({ operation, state }: Input): Provenance {
    const params = bakeParams.parse(operation.params);
    return {
      app: operation.app,
      version: operation.version,
      baseAmi: required(state.baseAmi, 'base AMI'),
      baseAmiName: state.baseAmiName ?? '',
      baseAmiCreatedAt: state.baseAmiCreatedAt,
      recipeHash: state.recipeHash,
      commit: params.commit,
      artifactSha256: state.artifactSha256,
      // Who asked, by Slack user id: a name is neither unique nor stable.
      requestedBy: operation.requestedBy,
      // A region retry's copy belongs to the bake that made the image (src/retire keeps or removes a bake whole).
      operationId: state.bakeOperationId ?? operation.id,
    };
  }

  /** Whether an id Bakery made at `since` may still be unknown to EC2 rather than gone. */
  function mayBeInvisible(since: number | undefined): boolean {
    return since !== undefined && clock.now() < since + visibilityGraceMs;
  }

  function unknownToEc2(what: string, since: number | undefined, made: string): StepFailure {
    return new StepFailure(since === undefined ? `${what} disappeared` : `${what} is still unknown to EC2 ${Math.round(visibilityGraceMs / 60_000)} min after it was ${made}`);
  }

  /** Waits on the builder's console until it reports past `phase`, or fails naming what went wrong. */
  async function waitForBuilder(input: Input, config: AppConfig, phase: Phase): Promise<BuilderReport> {
    const builderId = required(input.state.builderId, 'builder');
    const key = required(input.state.resultKey, 'result key');
    const launchedAt = input.state.builderLaunchedAt;
    let lastText = '';
    return waitFor(
      { clock, what: `builder ${builderId} to finish its ${phase} phase`, timeoutMs: minutes(config.timeouts.builderMinutes), intervalMs: pollIntervalMs, signal: input.signal },
      async () => {
        const text = await builderConsole(aws, config.region, builderId).catch((error: unknown) => {
          if (isNotFound(error) && mayBeInvisible(launchedAt)) return undefined;
          if (isNotFound(error)) throw unknownToEc2(`builder ${builderId}`, launchedAt, 'launched');
          throw error;
        });
        if (text === undefined) return { done: false, seen: 'not yet visible to EC2' };
        const report = readBuilderReport(text, key);
        // The console may already show later phases: this step is judged only on its own phase. The
        // smoke step ends only on the result, which comes after the scratch is removed.
        if ((phase !== 'smoke' && report.finished.includes(phase)) || report.state === 'succeeded') return { done: true, value: report };
        if (report.state === 'failed') throw new StepFailure(`the builder's ${report.phase} phase failed${report.reason ? `: ${untrustedText(report.reason)}` : ''}`, redactSecrets(report.logTail));
        // A builder whose console has gone quiet may have died: only then is it worth asking EC2.
        if (text === lastText) {
          const instanceState = (await describeInstance(aws, config.region, builderId))?.State?.Name ?? (mayBeInvisible(launchedAt) ? 'pending' : 'gone');
          if (instanceState !== 'running' && instanceState !== 'pending') throw new StepFailure(`builder ${builderId} is ${instanceState} before finishing its ${phase} phase`, redactSecrets(report.logTail));
        }
        lastText = text;
        const lastLine = report.lastLine ? `\`${untrustedText(report.lastLine.slice(0, 120))}\`` : undefined;
        if (lastLine) input.note(lastLine);
        return { done: false, seen: `still in its ${report.phase ?? 'boot'} phase${lastLine ? ` (last line: ${lastLine})` : ''}` };
      },
    );
  }

  /** `createdAt`: when this run made the image, if it did (a new id may be unknown to EC2 for a while). */
  async function waitForImage(input: Input, region: string, imageId: string, timeoutMinutes: number, createdAt?: number): Promise<void> {
    await waitFor(
      { clock, what: `image ${imageId} in ${region} to become available`, timeoutMs: minutes(timeoutMinutes), intervalMs: pollIntervalMs, signal: input.signal },
      async () => {
        const image = await describeImage(aws, region, imageId);
        if (!image && mayBeInvisible(createdAt)) return { done: false, seen: 'not yet visible to EC2' };
        if (!image) throw unknownToEc2(`image ${imageId} in ${region}`, createdAt, 'created');
        if (image.State === 'available') return { done: true, value: undefined };
        if (image.State === 'failed' || image.State === 'invalid' || image.State === 'error') {
          throw new StepFailure(`image ${imageId} in ${region} is ${image.State}: ${image.StateReason?.Message ?? 'no reason given'}`);
        }
        return { done: false, seen: image.State ?? 'unknown' };
      },
    );
  }

  const steps: Step<BakeState>[] = [
    {
      name: 'resolve-base',
      title: 'Resolve base image',
      async run({ operation }) {
        const config = appOf(operation);
        const choice = chooseBase(bakeParams.parse(operation.params).base, config);
        if (!choice.ok) throw new StepFailure(choice.error);
        const base = await resolveBaseImage(aws, config.region, choice.source, config.baseImageOwners);
        const othersImage = otherAppsImage(base, operation.app, config);
        if (othersImage) throw new StepFailure(othersImage);
        // The builder's key is chosen here, before anything is launched, so that it is written down first.
        const resultKey = randomBytes(16).toString('hex');
        return {
          state: { baseAmi: base.id, baseAmiName: base.name, baseAmiCreatedAt: base.createdAt, recipeHash: recipeHash(config), resultKey },
          detail: `${base.id} (${base.name}${base.createdAt !== undefined ? `, made ${new Date(base.createdAt).toISOString().slice(0, 10)}` : ''})`,
        };
      },
    },
    {
      name: 'check-existing',
      title: 'Check for an existing image',
      async run({ operation, state }) {
        const config = appOf(operation);
        // Same app, version, base, recipe (and artifact, when the bake names its digest): the same image.
        const [existing] = await findBakedImages(aws, config.region, {
          app: operation.app,
          version: operation.version,
          baseAmi: required(state.baseAmi, 'base AMI'),
          recipeHash: state.recipeHash,
          artifactSha256: bakeParams.parse(operation.params).artifactSha256,
        });
        const ours = existing?.Tags?.some((tag) => tag.Key === 'bakery:operation' && tag.Value === operation.id);
        if (!existing?.ImageId || ours) return { detail: 'none found' };
        if (bakeParams.parse(operation.params).force) return { detail: `${existing.ImageId} exists; baking again (--force)` };
        return {
          state: { existingAmi: existing.ImageId },
          detail: `${existing.ImageId} (${existing.Name ?? ''})`,
          finish: `${operation.app} ${operation.version} is already baked on this base: ${existing.ImageId}. Add --force to bake it again.`,
        };
      },
    },
    {
      name: 'launch-builder',
      title: 'Launch builder',
      async run(input) {
        const config = appOf(input.operation);
        const params = bakeParams.parse(input.operation.params);
        const userData = builderUserData({
          app: input.operation.app,
          config,
          version: input.operation.version,
          operationId: input.operation.id,
          resultKey: required(input.state.resultKey, 'result key'),
          artifactSha256: params.artifactSha256,
        });
        const builderId = await launchBuilder(aws, config, required(input.state.baseAmi, 'base AMI'), userData, provenance(input));
        // Recorded before the builder boots, so that cleanup can always name the builder to terminate.
        return { state: { builderId, builderLaunchedAt: clock.now() }, detail: `${builderId} (${config.instanceType}) from ${input.state.baseAmi}` };
      },
    },
    {
      name: 'provision',
      title: 'Download and provision',
      async run(input) {
        const config = appOf(input.operation);
        const given = bakeParams.parse(input.operation.params).artifactSha256;
        const { artifactSha256, publishedSha256 } = await waitForBuilder(input, config, 'provision');
        // The builder refused a mismatch before provision ran; what it reported is held to the same rule.
        if (config.artifactDigest === 'published' && !publishedSha256) throw new StepFailure('the builder did not report the published sha256 it checked the artifact against');
        const expected = publishedSha256 ?? given;
        if (expected && artifactSha256 !== expected) throw new StepFailure(`the builder reported the artifact's sha256 as ${artifactSha256 ?? 'nothing'}, not the expected ${expected}`);
        const artifactChecked = publishedSha256 ? 'published' : given ? 'given' : undefined;
        return { state: { artifactSha256, artifactChecked }, detail: `artifact sha256 ${artifactSha256 ?? 'not reported'} (${digestCheck(artifactChecked)}), provision script passed` };
      },
    },
    {
      name: 'smoke-test',
      title: 'Smoke test',
      async run(input) {
        const config = appOf(input.operation);
        await waitForBuilder(input, config, 'smoke');
        return { detail: 'smoke test passed, as the builder reports it' };
      },
    },
    {
      name: 'create-image',
      title: 'Create image',
      async run(input) {
        const config = appOf(input.operation);
        const name = input.state.imageName ?? imageName(provenance(input), input.operation.createdAt);
        const createdAt = clock.now();
        const imageId = await waitFor(
          { clock, what: `image ${name} to become visible to EC2`, timeoutMs: visibilityGraceMs, intervalMs: pollIntervalMs, signal: input.signal },
          async () => {
            const id = await createImage(aws, config.region, required(input.state.builderId, 'builder'), name, provenance(input));
            return id ? { done: true, value: id } : { done: false, seen: 'its name taken by an image describes do not show yet' };
          },
        );
        // Recorded even when it fails, so that the sweep knows the image as the bake's.
        await waitForImage(input, config.region, imageId, config.timeouts.imageMinutes, createdAt).catch((error: unknown) => {
          throw error instanceof StepFailure ? error.keeping({ imageId, imageName: name }) : error;
        });
        const snapshotIds = snapshotIdsOf((await describeImage(aws, config.region, imageId)) ?? {});
        return { state: { imageId, imageName: name, snapshotIds }, detail: `${imageId} (${name})` };
      },
    },
    {
      name: 'terminate-builder',
      title: 'Terminate builder',
      // As soon as the image is available: sharing and copying take many minutes and need no builder.
      async run({ operation, state }) {
        const config = appOf(operation);
        const live = await findLiveBuilders(aws, config.region, operation.id);
        // Its volumes, written down before they are detached: a volume left behind goes with the sweep only if recorded.
        const builder = state.builderId ? await describeInstance(aws, config.region, state.builderId) : undefined;
        const builderVolumes = [...new Set([...(state.builderVolumes ?? []), ...(builder?.BlockDeviceMappings ?? []).flatMap((mapping) => mapping.Ebs?.VolumeId ?? [])])];
        await terminateInstances(aws, config.region, live);
        return { state: { builderVolumes }, detail: live.length > 0 ? `${live.join(', ')} terminated` : `${state.builderId ?? 'builder'} already gone` };
      },
    },
    {
      name: 'share',
      title: 'Share with accounts',
      async run({ operation, state }) {
        const config = appOf(operation);
        if (config.shareWith.length === 0) return { detail: 'no accounts to share with' };
        const image = await describeImage(aws, config.region, required(state.imageId, 'image'));
        if (!image) throw new StepFailure(`image ${state.imageId} disappeared before it could be shared`);
        await shareImage(aws, config.region, image, config.shareWith).catch((error: unknown) => {
          // The home image is encrypted as its builder's volume was; EC2 shares none made with the AWS managed key.
          if (/AWS Managed CMK|EBS default key/.test(describeAwsError(error))) {
            throw new StepFailure(followedBy(describeAwsError(error), "The image is encrypted with the AWS managed key, as its builder's volume was: bake on a base, or with an EBS default key, that is a customer managed key"));
          }
          throw error;
        });
        return { detail: `shared with ${config.shareWith.join(', ')}` };
      },
    },
    {
      name: 'copy',
      title: 'Copy to regions',
      run: (input) => copyToRegions(input, appOf(input.operation).copyTo),
    },
    {
      name: 'record-release',
      title: 'Record release',
      async run({ operation, state }) {
        const config = appOf(operation);
        const params = bakeParams.parse(operation.params);
        const imageId = required(state.imageId, 'image');
        const replaced = await store.getRelease(operation.app, operation.version);
        // A re-bake adds to the version's history what it replaced and why; the replaced bake stays listed (store.putRelease).
        const rebake = replaced && replaced.operationId !== operation.id && replaced.status !== 'retired' ? replaced : undefined;
        const why = params.why ?? (replaced?.status === 'retired' ? 'baked again after its images were pruned' : 're-baked with --force');
        const note = replaced && replaced.operationId !== operation.id ? `${why}${rebake ? `, replacing ${Object.values(rebake.amis).join(', ')} (base ${rebake.baseAmi})` : ''}` : undefined;
        const replacedAmi = rebake?.amis[config.region];
        const regions = Object.entries(state.regions ?? {});
        const failed = regions.filter(([, copy]) => copy.status === 'failed');
        await store.putRelease({
          app: operation.app,
          version: operation.version,
          // Only good copies: a release's AMIs are all launchable. The others say why, for a retry.
          amis: { [config.region]: imageId, ...Object.fromEntries(regions.flatMap(([region, copy]) => (copy.status !== 'failed' && copy.imageId ? [[region, copy.imageId]] : []))) },
          ...(failed.length > 0 ? { failedRegions: Object.fromEntries(failed.map(([region, copy]) => [region, { reason: copy.reason ?? 'unknown', at: clock.now(), operationId: operation.id }])) } : {}),
          amiName: required(state.imageName, 'image name'),
          baseAmi: required(state.baseAmi, 'base AMI'),
          baseAmiName: state.baseAmiName ?? '',
          baseAmiCreatedAt: state.baseAmiCreatedAt,
          artifactSha256: state.artifactSha256,
          ...(state.artifactChecked ? { artifactChecked: state.artifactChecked } : {}),
          recipeHash: state.recipeHash,
          commit: params.commit,
          status: 'baked',
          bakedBy: operation.requestedBy,
          bakedAt: clock.now(),
          operationId: operation.id,
          thread: operation.thread,
          history: [
            {
              status: 'baked',
              at: clock.now(),
              by: operation.requestedBy,
              operationId: operation.id,
              ami: imageId,
              baseAmi: required(state.baseAmi, 'base AMI'),
              ...(note ? { note } : {}),
              ...(rebake && replacedAmi ? { replaced: { ami: replacedAmi, baseAmi: rebake.baseAmi } } : {}),
            },
          ],
        });
        return { detail: `${operation.app} ${operation.version} → ${imageId}${failed.length > 0 ? ` (not in ${failed.map(([region]) => region).join(', ')})` : ''}` };
      },
    },
  ];

  /** A region retry (`/bake --retry-region`): the copy and share of the baked image to one region, then the release. */
  const retrySteps: Step<BakeState>[] = [
    {
      name: 'copy',
      title: 'Copy to region',
      run: (input) => copyToRegions(input, [required(bakeParams.parse(input.operation.params).retryRegion, 'region')]),
    },
    {
      name: 'record-region',
      title: 'Add to release',
      async run({ operation, state }) {
        const region = required(bakeParams.parse(operation.params).retryRegion, 'region');
        const copy = state.regions?.[region];
        const imageId = required(copy?.imageId, 'copy');
        const release = await store.getRelease(operation.app, operation.version);
        if (!release) throw new StepFailure(`the release ${operation.app} ${operation.version} is gone; the copy ${imageId} in ${region} is kept but not recorded`);
        await store.addReleaseRegion(release, region, imageId);
        return { detail: `${operation.app} ${operation.version} in ${region} → ${imageId}` };
      },
    },
  ];

  /**
   * One look at every region's copy, starting those not yet started: each goes copying → available
   * → shared on its own, or fails alone, saying why (its half-made copy deleted). The step waits, with
   * back-off, while any is still copying, its state (and the thread's line per region) written at each look.
   */
  async function copyToRegions(input: Input, regions: string[]): Promise<StepOutcome<BakeState>> {
    const { operation, state } = input;
    const config = appOf(operation);
    if (regions.length === 0) return { detail: 'no regions to copy to' };
    const copies = { ...state.regions };
    for (const region of regions) {
      if (copies[region]) continue;
      copies[region] = await inRegion(region, config, async () => {
        const imageId = await copyImage(
          aws,
          {
            sourceRegion: config.region,
            sourceImageId: required(state.imageId, 'image'),
            region,
            name: required(state.imageName, 'image name'),
            // This operation's: a repeat after a crash returns the same copy, and a retry makes a new one.
            clientToken: clientToken(operation.id, `copy-${region}`),
            kmsKeyId: config.kmsKeys[region],
          },
          provenance(input),
        );
        return { status: 'copying', imageId, startedAt: clock.now() };
      });
    }
    for (const region of regions) {
      const copy = copies[region]!;
      if (copy.status === 'copying') copies[region] = await inRegion(region, config, () => lookAtCopy(region, copy, config), copy.imageId, copy);
    }
    const regionsRef = (await input.say(copiesMessage(regions, copies, config.shareWith.length), state.regionsRef)) ?? state.regionsRef;
    const leftovers = [...new Set([...(state.leftovers ?? []), ...Object.values(copies).flatMap((copy) => (copy.status === 'failed' && copy.imageId ? [copy.imageId] : []))])];
    const leftoverState = leftovers.length > 0 ? { leftovers } : {};
    const line = regions.map((region) => `${region} ${copies[region]!.status}`).join(', ');
    const looks = state.copyLooks ?? 0;
    if (regions.some((region) => copies[region]!.status === 'copying')) {
      return { state: { regions: copies, regionsRef, copyLooks: looks + 1, ...leftoverState }, wait: { until: clock.now() + backoff(pollIntervalMs, looks), detail: line } };
    }
    const retried = bakeParams.parse(operation.params).retryRegion;
    const failure = retried ? copies[retried] : undefined;
    if (failure?.status === 'failed') throw new StepFailure(`the copy to ${retried} failed: ${failure.reason}`).keeping({ regions: copies, regionsRef, ...leftoverState });
    return { state: { regions: copies, regionsRef, ...leftoverState }, detail: line };
  }

  /** The copy after one look: still copying, available and (when the app shares) shared, or failed. */
  async function lookAtCopy(region: string, copy: RegionCopy, config: AppConfig): Promise<RegionCopy> {
    const imageId = required(copy.imageId, 'copy');
    const image = await describeImage(aws, region, imageId);
    if (!image && mayBeInvisible(copy.startedAt)) return copy;
    if (!image) return { status: 'failed', reason: unknownToEc2(`copy ${imageId}`, copy.startedAt, 'made').message };
    if (image.State === 'failed' || image.State === 'invalid' || image.State === 'error') {
      return { status: 'failed', imageId, reason: followedBy(`copy ${imageId} is ${image.State}: ${image.StateReason?.Message ?? 'no reason given'}`, kmsHint(region, config, image.StateReason?.Code ?? '')) };
    }
    if (image.State !== 'available') {
      const timeoutMs = minutes(config.timeouts.copyMinutes);
      if (clock.now() < (copy.startedAt ?? 0) + timeoutMs) return copy;
      return { status: 'failed', imageId, reason: `copy ${imageId} was still ${image.State} after ${config.timeouts.copyMinutes} min (timeouts.copyMinutes)` };
    }
    const snapshotIds = snapshotIdsOf(image);
    if (config.shareWith.length === 0) return { ...copy, status: 'available', snapshotIds };
    await shareImage(aws, region, image, config.shareWith);
    return { ...copy, status: 'shared', snapshotIds };
  }

  /**
   * Runs one region's work alone: an AWS error (a refusal, a KMS key it cannot use) fails that region
   * only, deleting its half-made copy, and names the region and why. Anything else is Bakery's own and fails the step.
   * A look at a copy (`looking`) that AWS could not answer (throttled, a 5xx) leaves the copy as it was, to be
   * looked at again, until the copy's own timeout.
   */
  async function inRegion(region: string, config: AppConfig, work: () => Promise<RegionCopy>, imageId?: string, looking?: RegionCopy): Promise<RegionCopy> {
    const outcome = await work().catch((error: unknown): RegionCopy => {
      if (errorCode(error) === undefined) throw error;
      if (looking && isTransient(error) && clock.now() < (looking.startedAt ?? 0) + minutes(config.timeouts.copyMinutes)) return looking;
      return { status: 'failed', imageId, reason: followedBy(describeAwsError(error), kmsHint(region, config, describeAwsError(error))) };
    });
    if (outcome.status !== 'failed' || !outcome.imageId) return outcome;
    // A failed region keeps nothing half-made: a retry makes a new copy.
    const kept = await deleteImageById(region, outcome.imageId).then(
      () => false,
      (error: unknown) => {
        if (errorCode(error) === undefined) throw error;
        return true;
      },
    );
    const reason = outcome.reason ?? 'unknown';
    // A copy that could not be deleted stays named, so that the sweep removes it (`leftovers`).
    return kept ? { status: 'failed', imageId: outcome.imageId, reason: `${reason} (its copy ${outcome.imageId} could not be deleted; the sweep will remove it)` } : { status: 'failed', reason };
  }

  /** Deregisters the image and deletes its snapshots; false when EC2 does not show it (already gone). */
  async function deleteImageById(region: string, imageId: string): Promise<boolean> {
    const image = await describeImage(aws, region, imageId);
    if (image) await deleteImage(aws, region, image);
    return image !== undefined;
  }

  return {
    kind: 'bake',
    state: bakeState,
    steps: steps.map(metered),
    stepsFor: (operation) => (bakeParams.parse(operation.params).retryRegion ? retrySteps : steps).map(metered),
    async cleanup({ operation, state }, status: OperationStatus) {
      const config = appOf(operation);
      const done: string[] = [];
      const retried = bakeParams.parse(operation.params).retryRegion;
      if (retried) {
        // A retry launches no builder; a copy it did not finish goes, the bake's own images stay.
        const unfinished = state.regions?.[retried]?.imageId;
        if (status !== 'succeeded' && unfinished && (await deleteImageById(retried, unfinished))) done.push(`deleted unfinished copy ${unfinished} in ${retried}`);
        return done;
      }
      const live = await findLiveBuilders(aws, config.region, operation.id);
      if (live.length > 0) {
        await terminateInstances(aws, config.region, live);
        done.push(`terminated builder ${live.join(', ')}`);
      }
      // EC2's lists can miss a builder it does not show yet (eventual consistency); terminating by id does not.
      const { builderId } = state;
      const ended = async (id: string) => ['shutting-down', 'terminated'].includes((await describeInstance(aws, config.region, id))?.State?.Name ?? '');
      if (builderId && !live.includes(builderId) && !(await ended(builderId))) {
        const terminated = await terminateInstances(aws, config.region, [builderId]).then(
          () => true,
          (error: unknown) => {
            if (isNotFound(error)) return false;
            throw error;
          },
        );
        done.push(terminated ? `terminated builder ${builderId}` : `builder ${builderId} is unknown to EC2, nothing to terminate`);
      }
      if (status === 'failed' || status === 'cancelled') {
        for (const region of [config.region, ...config.copyTo]) {
          for (const image of await findImagesOfOperation(aws, region, operation.id)) {
            await deleteImage(aws, region, image);
            done.push(`deleted unfinished image ${image.ImageId} in ${region}`);
          }
        }
      }
      return done;
    },
    ...bakeMessages(clock, steps, retrySteps),
  };
}


/** What to do about a copy's encryption, when AWS's answer says that is what went wrong. */
function kmsHint(region: string, config: AppConfig, said: string): string {
  if (/AWS Managed CMK|EBS default key/.test(said)) {
    return `The copy is encrypted with the AWS managed key, which EC2 does not let anyone share: give ${region} a customer managed key in the app's kmsKeys`;
  }
  if (/InvalidKMSKey/.test(said) && config.kmsKeys[region]) return `Check that the key in kmsKeys.${region} exists in ${region}, is enabled, and that its key policy lets Bakery use it`;
  return '';
}

/** AWS's sentence, then Bakery's advice, if any. */
const followedBy = (said: string, advice: string): string => (advice ? `${said.replace(/\.$/, '')}. ${advice}` : said);

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new StepFailure(`the ${what} is not known yet; an earlier step did not record it`);
  return value;
}
