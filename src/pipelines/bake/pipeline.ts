import { metered } from '../metered.js';
import { randomBytes } from 'node:crypto';
import type { AwsClients } from '../../aws/clients.js';
import { builderConsole, describeInstance, findLiveBuilders, launchBuilder, terminateInstances } from '../../aws/builder.js';
import { copyImage, createImage, deleteImage, describeImage, findBakedImages, findImagesOfOperation, resolveBaseImage, shareImage } from '../../aws/images.js';
import { isNotFound } from '../../aws/errors.js';
import { waitFor } from '../../aws/poll.js';
import { imageName, type Provenance } from '../../aws/provenance.js';
import { untrustedText } from '../../chat/untrusted.js';
import type { Clock } from '../../clock.js';
import type { AppConfig } from '../../config/apps.js';
import { redactSecrets } from '../../log.js';
import { StepFailure, type Pipeline, type Step, type StepInput } from '../../operations/pipeline.js';
import type { Operation, OperationStatus } from '../../store/items.js';
import type { Store } from '../../store/store.js';
import { chooseBase } from './base.js';
import { bakeMessages } from './messages.js';
import { recipeHash } from './recipe.js';
import { bakeParams, bakeState, type BakeState } from './state.js';
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
      operationId: operation.id,
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
        if (report.state === 'failed') throw new StepFailure(`the builder's ${report.phase} phase failed`, redactSecrets(report.logTail));
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
        const { artifactSha256 } = await waitForBuilder(input, config, 'provision');
        return { state: { artifactSha256 }, detail: `artifact downloaded (sha256 ${artifactSha256 ?? 'not reported'}), provision script passed` };
      },
    },
    {
      name: 'smoke-test',
      title: 'Smoke test',
      async run(input) {
        const config = appOf(input.operation);
        await waitForBuilder(input, config, 'smoke');
        return { detail: 'smoke test passed' };
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
        await waitForImage(input, config.region, imageId, config.timeouts.imageMinutes, createdAt);
        return { state: { imageId, imageName: name }, detail: `${imageId} (${name})` };
      },
    },
    {
      name: 'terminate-builder',
      title: 'Terminate builder',
      // As soon as the image is available: sharing and copying take many minutes and need no builder.
      async run({ operation, state }) {
        const config = appOf(operation);
        const live = await findLiveBuilders(aws, config.region, operation.id);
        await terminateInstances(aws, config.region, live);
        return { detail: live.length > 0 ? `${live.join(', ')} terminated` : `${state.builderId ?? 'builder'} already gone` };
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
        await shareImage(aws, config.region, image, config.shareWith);
        return { detail: `shared with ${config.shareWith.join(', ')}` };
      },
    },
    {
      name: 'copy',
      title: 'Copy to regions',
      async run(input) {
        const config = appOf(input.operation);
        if (config.copyTo.length === 0) return { detail: 'no regions to copy to' };
        const imageId = required(input.state.imageId, 'image');
        const name = required(input.state.imageName, 'image name');
        const copies: Record<string, string> = {};
        const copiedAt: Record<string, number> = {};
        for (const region of config.copyTo) {
          copiedAt[region] = clock.now();
          copies[region] = await copyImage(aws, config.region, imageId, region, name, provenance(input));
        }
        for (const [region, copyId] of Object.entries(copies)) {
          await waitForImage(input, region, copyId, config.timeouts.copyMinutes, copiedAt[region]);
          const copy = await describeImage(aws, region, copyId);
          if (!copy) throw new StepFailure(`copy ${copyId} in ${region} disappeared`);
          if (config.shareWith.length > 0) await shareImage(aws, region, copy, config.shareWith);
        }
        return { state: { copies }, detail: Object.entries(copies).map(([region, id]) => `${region}: ${id}`).join(', ') };
      },
    },
    {
      name: 'record-release',
      title: 'Record release',
      async run({ operation, state }) {
        const config = appOf(operation);
        const params = bakeParams.parse(operation.params);
        const imageId = required(state.imageId, 'image');
        const replaced = await store.getRelease(operation.app, operation.version);
        // A forced re-bake replaces the version's image; its history says what was there before.
        const note = replaced && replaced.operationId !== operation.id ? `re-baked with --force, replacing ${Object.values(replaced.amis).join(', ')} (base ${replaced.baseAmi})` : undefined;
        await store.putRelease({
          app: operation.app,
          version: operation.version,
          amis: { [config.region]: imageId, ...state.copies },
          amiName: required(state.imageName, 'image name'),
          baseAmi: required(state.baseAmi, 'base AMI'),
          baseAmiName: state.baseAmiName ?? '',
          baseAmiCreatedAt: state.baseAmiCreatedAt,
          artifactSha256: state.artifactSha256,
          recipeHash: state.recipeHash,
          commit: params.commit,
          status: 'baked',
          bakedBy: operation.requestedBy,
          bakedAt: clock.now(),
          operationId: operation.id,
          thread: operation.thread,
          history: [{ status: 'baked', at: clock.now(), by: operation.requestedBy, operationId: operation.id, ...(note ? { note } : {}) }],
        });
        return { detail: `${operation.app} ${operation.version} → ${imageId}` };
      },
    },
  ];

  return {
    kind: 'bake',
    state: bakeState,
    steps: steps.map(metered),
    async cleanup({ operation, state }, status: OperationStatus) {
      const config = appOf(operation);
      const done: string[] = [];
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
    ...bakeMessages(clock, steps),
  };
}


function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new StepFailure(`the ${what} is not known yet; an earlier step did not record it`);
  return value;
}
