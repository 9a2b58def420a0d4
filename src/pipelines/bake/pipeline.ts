import type { AwsClients } from '../../aws/clients.js';
import { builderConsole, describeInstance, findLiveBuilders, launchBuilder, terminateInstances } from '../../aws/builder.js';
import { copyImage, createImage, deleteImage, describeImage, findBakedImages, findImagesOfOperation, resolveBaseImage, shareImage, tagSnapshots } from '../../aws/images.js';
import { measureAwsCalls } from '../../aws/call-meter.js';
import { waitFor } from '../../aws/poll.js';
import { imageName, type Provenance } from '../../aws/provenance.js';
import type { Clock } from '../../clock.js';
import type { AppConfig, BaseImageSource } from '../../config/apps.js';
import { StepFailure, type Pipeline, type Step, type StepInput } from '../../operations/pipeline.js';
import type { Operation, OperationStatus } from '../../store/items.js';
import type { Store } from '../../store/store.js';
import { bakeMessages } from './messages.js';
import { bakeParams, bakeState, type BakeState } from './state.js';
import { builderUserData, readBuilderReport, type Phase } from './user-data.js';

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
 * The bake, as an operator's runbook: resolve the base, make sure the image isn't already there,
 * launch a builder, provision it, smoke test it, image it, share and copy the image, terminate the
 * builder, record the release. Cleanup terminates the builder whatever happened.
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
      commit: params.commit,
      requestedBy: params.requestedByName,
      operationId: operation.id,
    };
  }

  /** Waits on the builder's console until it reports past `phase`, or fails naming what went wrong. */
  async function waitForBuilder(input: Input, config: AppConfig, phase: Phase, until: (text: string) => boolean): Promise<void> {
    const builderId = required(input.state.builderId, 'builder');
    let lastText = '';
    await waitFor(
      { clock, what: `builder ${builderId} to finish its ${phase} phase`, timeoutMs: minutes(config.timeouts.builderMinutes), intervalMs: pollIntervalMs, signal: input.signal },
      async () => {
        const text = await builderConsole(aws, config.region, builderId);
        const report = readBuilderReport(text);
        // The console may already show later phases: this step is judged only on its own phase.
        if (until(text) || report.state === 'succeeded') return { done: true, value: undefined };
        if (report.state === 'failed') throw new StepFailure(`the builder's ${report.phase} phase failed`, report.logTail);
        // A builder whose console has gone quiet may have died: only then is it worth asking EC2.
        if (text === lastText) {
          const instanceState = (await describeInstance(aws, config.region, builderId))?.State?.Name ?? 'gone';
          if (instanceState !== 'running' && instanceState !== 'pending') throw new StepFailure(`builder ${builderId} is ${instanceState} before finishing its ${phase} phase`, text.split('\n').slice(-25).join('\n'));
        }
        lastText = text;
        if (report.lastLine) input.note(report.lastLine.slice(0, 120));
        return { done: false, seen: `still in its ${report.phase ?? 'boot'} phase${report.lastLine ? ` (last line: ${report.lastLine.slice(0, 80)})` : ''}` };
      },
    );
  }

  async function waitForImage(input: Input, region: string, imageId: string, timeoutMinutes: number): Promise<void> {
    await waitFor(
      { clock, what: `image ${imageId} in ${region} to become available`, timeoutMs: minutes(timeoutMinutes), intervalMs: pollIntervalMs, signal: input.signal },
      async () => {
        const image = await describeImage(aws, region, imageId);
        if (!image) throw new StepFailure(`image ${imageId} in ${region} disappeared`);
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
        const base = await resolveBaseImage(aws, config.region, baseSourceOf(bakeParams.parse(operation.params).base, config.baseImage));
        return { state: { baseAmi: base.id, baseAmiName: base.name }, detail: `${base.id} (${base.name})` };
      },
    },
    {
      name: 'check-existing',
      title: 'Check for an existing image',
      async run({ operation, state }) {
        const config = appOf(operation);
        const [existing] = await findBakedImages(aws, config.region, { app: operation.app, version: operation.version, baseAmi: required(state.baseAmi, 'base AMI') });
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
        const userData = builderUserData(input.operation.app, config, input.operation.version, input.operation.id);
        const builderId = await launchBuilder(aws, config, required(input.state.baseAmi, 'base AMI'), userData, provenance(input));
        await waitFor(
          { clock, what: `builder ${builderId} to start`, timeoutMs: minutes(config.timeouts.builderMinutes), intervalMs: pollIntervalMs, signal: input.signal },
          async () => {
            const state = (await describeInstance(aws, config.region, builderId))?.State?.Name ?? 'unknown';
            if (state === 'running') return { done: true, value: undefined };
            if (state !== 'pending') throw new StepFailure(`builder ${builderId} is ${state} instead of running`);
            return { done: false, seen: state };
          },
        );
        return { state: { builderId }, detail: `${builderId} (${config.instanceType}) from ${input.state.baseAmi}` };
      },
    },
    {
      name: 'provision',
      title: 'Download and provision',
      async run(input) {
        const config = appOf(input.operation);
        await waitForBuilder(input, config, 'provision', (text) => text.includes('bakery: provision done'));
        return { detail: 'artifact downloaded, provision script passed' };
      },
    },
    {
      name: 'smoke-test',
      title: 'Smoke test',
      async run(input) {
        const config = appOf(input.operation);
        await waitForBuilder(input, config, 'smoke', () => false);
        return { detail: 'smoke test passed' };
      },
    },
    {
      name: 'create-image',
      title: 'Create image',
      async run(input) {
        const config = appOf(input.operation);
        const name = input.state.imageName ?? imageName(provenance(input), input.operation.createdAt);
        const imageId = await createImage(aws, config.region, required(input.state.builderId, 'builder'), name, provenance(input));
        await waitForImage(input, config.region, imageId, config.timeouts.imageMinutes);
        return { state: { imageId, imageName: name }, detail: `${imageId} (${name})` };
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
        for (const region of config.copyTo) copies[region] = await copyImage(aws, config.region, imageId, region, name, provenance(input));
        for (const [region, copyId] of Object.entries(copies)) {
          await waitForImage(input, region, copyId, config.timeouts.copyMinutes);
          const copy = await describeImage(aws, region, copyId);
          if (!copy) throw new StepFailure(`copy ${copyId} in ${region} disappeared`);
          await tagSnapshots(aws, region, copy, provenance(input));
          if (config.shareWith.length > 0) await shareImage(aws, region, copy, config.shareWith);
        }
        return { state: { copies }, detail: Object.entries(copies).map(([region, id]) => `${region}: ${id}`).join(', ') };
      },
    },
    {
      name: 'terminate-builder',
      title: 'Terminate builder',
      async run({ operation, state }) {
        const config = appOf(operation);
        const live = await findLiveBuilders(aws, config.region, operation.id);
        await terminateInstances(aws, config.region, live);
        return { detail: live.length > 0 ? `${live.join(', ')} terminated` : `${state.builderId ?? 'builder'} already gone` };
      },
    },
    {
      name: 'record-release',
      title: 'Record release',
      async run({ operation, state }) {
        const config = appOf(operation);
        const params = bakeParams.parse(operation.params);
        const imageId = required(state.imageId, 'image');
        await store.putRelease({
          app: operation.app,
          version: operation.version,
          amis: { [config.region]: imageId, ...state.copies },
          amiName: required(state.imageName, 'image name'),
          baseAmi: required(state.baseAmi, 'base AMI'),
          baseAmiName: state.baseAmiName ?? '',
          commit: params.commit,
          status: 'baked',
          bakedBy: operation.requestedBy,
          bakedAt: clock.now(),
          operationId: operation.id,
          thread: operation.thread,
          history: [{ status: 'baked', at: clock.now(), by: operation.requestedBy, operationId: operation.id }],
        });
        return { detail: `${operation.app} ${operation.version} → ${imageId}` };
      },
    },
  ];

  return {
    kind: 'bake',
    state: bakeState,
    steps: steps.map(metered),
    async cleanup({ operation }, status: OperationStatus) {
      const config = appOf(operation);
      const done: string[] = [];
      const live = await findLiveBuilders(aws, config.region, operation.id);
      if (live.length > 0) {
        await terminateInstances(aws, config.region, live);
        done.push(`terminated builder ${live.join(', ')}`);
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

/** A step that adds the AWS calls it made to the bake's tally. */
function metered(step: Step<BakeState>): Step<BakeState> {
  return {
    ...step,
    async run(input) {
      const { value, calls, retries } = await measureAwsCalls(() => step.run(input));
      return {
        ...value,
        state: { ...value?.state, awsCalls: (input.state.awsCalls ?? 0) + calls, awsRetries: (input.state.awsRetries ?? 0) + retries },
      };
    },
  };
}

function baseSourceOf(requested: string | undefined, configured: BaseImageSource): BaseImageSource {
  if (!requested) return configured;
  return requested.startsWith('ssm:') ? { ssm: requested.slice('ssm:'.length) } : { id: requested };
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new StepFailure(`the ${what} is not known yet; an earlier step did not record it`);
  return value;
}
