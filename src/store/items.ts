import { z } from 'zod';
import { appConfig } from '../config/apps.js';
import { environmentName } from '../config/environments.js';
import { amiId, appName, version } from '../config/names.js';

/*
 * The items Bakery keeps in its one DynamoDB table. Every item read back is parsed with these
 * schemas, so a hand-edited or half-written item is reported, not trusted.
 */

export const storedAppConfig = z.object({
  app: appName,
  config: appConfig,
  appliedAt: z.number(),
});
export type StoredAppConfig = z.infer<typeof storedAppConfig>;

/**
 * Where a release stands: baked → canary → live (then previous, the rollback target, once another
 * is promoted) — or rejected by its canary, or rolled back from live.
 */
export const releaseStatus = z.enum(['baked', 'canary', 'rejected', 'live', 'previous', 'rolled-back', 'retired']);
export type ReleaseStatus = z.infer<typeof releaseStatus>;

/** One change of a release's status, kept so the history is never overwritten. */
export const releaseEvent = z.object({
  status: releaseStatus,
  at: z.number(),
  /** Slack user id of who caused it (the approver, whoever rolled back). */
  by: z.string(),
  operationId: z.string().optional(),
  /** The environment it happened in; absent for an app of one fleet, a bake and a prune. */
  environment: environmentName.optional(),
  note: z.string().optional(),
  /** The image (home region) it is about: the one baked, put live, rolled back; absent on events written before it was recorded. */
  ami: amiId.optional(),
  /** A bake's base image. */
  baseAmi: amiId.optional(),
  /** A bake that replaced an earlier one of the version (--force, a Rebake): that bake's image and base. */
  replaced: z.object({ ami: amiId, baseAmi: amiId }).optional(),
  /**
   * The release on the other side of a change of the fleet (its version, or its image when it has none):
   * what replaced it (previous), what it was rolled back to (rolled-back), what a rollback returned from (live).
   */
  other: z.string().optional(),
});
export type ReleaseEvent = z.infer<typeof releaseEvent>;

/** Who pinned a release, and when: its images are never pruned nor retired while it is pinned. */
export const releasePin = z.object({ by: z.string(), at: z.number() });
export type ReleasePin = z.infer<typeof releasePin>;

const releaseFields = z.object({
  app: appName,
  version,
  /** AMI id per region: the home region first, then each good copy (copied and shared): every one is launchable. */
  amis: z.record(z.string(), amiId),
  /** Regions the bake copies to whose copy failed, with why; `/bake --retry-region` copies one and moves it to `amis`. */
  failedRegions: z.record(z.string(), z.object({ reason: z.string(), at: z.number(), operationId: z.string() })).optional(),
  amiName: z.string(),
  baseAmi: amiId,
  baseAmiName: z.string(),
  /** The bake's identity (absent on releases baked before it was recorded). */
  baseAmiCreatedAt: z.number().optional(),
  artifactSha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  /** What the builder checked that digest against before provision ran: `/bake --sha256`, or the CI's published one. */
  artifactChecked: z.enum(['given', 'published']).optional(),
  recipeHash: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  commit: z.string().optional(),
  status: releaseStatus,
  bakedBy: z.string(),
  bakedAt: z.number(),
  operationId: z.string(),
  /** The bake's thread: the lifecycle continues there. */
  thread: z.object({ channel: z.string(), ts: z.string() }).optional(),
  history: z.array(releaseEvent).default([]),
  pin: releasePin.optional(),
});

/** One earlier bake of a version, as the release recorded it before a rebake replaced it. */
export const supersededBake = releaseFields
  .pick({ amis: true, amiName: true, baseAmi: true, baseAmiName: true, baseAmiCreatedAt: true, artifactSha256: true, recipeHash: true, commit: true, bakedBy: true, bakedAt: true, operationId: true, thread: true })
  .extend({ supersededAt: z.number() });
export type SupersededBake = z.infer<typeof supersededBake>;

export const release = releaseFields.extend({
  /** Earlier bakes of the version that a later one replaced, oldest first: their images are still there (a fleet may run one) until pruned. */
  superseded: z.array(supersededBake).optional(),
});
export type Release = z.infer<typeof release>;

/**
 * What the app's fleet runs, and what it ran before (the rollback target). Written when a promotion
 * or a rollback completes; the image and launch template version are kept so a rollback needs no group.
 */
export const fleetImage = z.object({
  /** Unknown when the fleet ran an image Bakery did not bake. */
  version: version.optional(),
  ami: amiId,
  launchTemplateVersion: z.string().optional(),
  /** The Auto Scaling group serving it (red-black promotions change it with every release). */
  group: z.string().optional(),
});
export type FleetImage = z.infer<typeof fleetImage>;

export const liveRelease = z.object({
  app: appName,
  /** The environment whose fleet this is; absent for an app of one fleet (its record keeps the key it always had). */
  environment: environmentName.optional(),
  live: fleetImage,
  previous: fleetImage.optional(),
  /** A red-black promotion keeps the old group, scaled as it was, as an instant rollback target until `until`. */
  standby: z.object({ group: z.string(), targetGroups: z.array(z.string()), until: z.number() }).optional(),
  since: z.number(),
  /**
   * Who asked for it (the canary's requester, or whoever rolled back to it) and who approved it: the
   * asker may return it to `previous`. Both are absent when neither is known: a red-black switch back
   * restores the release before, whose people were not kept, and items written before both were
   * recorded (their one `by` is dropped, so it grants nobody the asker's rights).
   */
  askedBy: z.string().optional(),
  approvedBy: z.string().optional(),
  operationId: z.string(),
});
export type LiveRelease = z.infer<typeof liveRelease>;

export const operationKind = z.enum(['bake', 'canary', 'rollback']);
export type OperationKind = z.infer<typeof operationKind>;

export const operationStatus = z.enum(['running', 'succeeded', 'failed', 'cancelled']);
export type OperationStatus = z.infer<typeof operationStatus>;

export const stepRecord = z.object({
  name: z.string(),
  status: z.enum(['running', 'done', 'failed', 'skipped']),
  startedAt: z.number(),
  finishedAt: z.number().optional(),
  /** One line a person reads in the thread, e.g. "i-0abc running in subnet-1". */
  detail: z.string().optional(),
});
export type StepRecord = z.infer<typeof stepRecord>;

/** Where an operation's progress is shown: the root message and its thread. */
export const chatThread = z.object({ channel: z.string(), ts: z.string() });
export type ChatThread = z.infer<typeof chatThread>;

/** A chat message as an operation's outbox keeps it (the shape of src/chat's ChatMessage, which the store does not import). */
export const storedMessage = z.object({
  text: z.string(),
  lines: z.array(z.string()).optional(),
  context: z.array(z.string()).optional(),
  tone: z.enum(['info', 'running', 'succeeded', 'failed', 'cancelled']).optional(),
  buttons: z
    .array(
      z.object({
        actionId: z.string(),
        label: z.string(),
        value: z.string(),
        style: z.enum(['primary', 'danger']).optional(),
        confirm: z.object({ title: z.string(), text: z.string(), confirm: z.string(), deny: z.string() }).optional(),
      }),
    )
    .optional(),
  broadcast: z.boolean().optional(),
});

/**
 * One announcement in an operation's outbox (its summary, an approval request, a chart, another
 * thread's root redrawn): written in the same conditional write as what it announces, posted at least
 * once, then marked posted.
 */
export const announcement = z.object({
  /** Names it for good: one key is one post in the thread, however often it is tried. */
  key: z.string(),
  /** A message as it was written; or `file`, which the pipeline draws when it is posted (a chart is too big to keep). */
  message: storedMessage.optional(),
  file: z.string().optional(),
  /** Or the root of another operation's thread (a release's, whose fate this one changed), drawn again as `message`. */
  redraw: z.object({ thread: chatThread, message: storedMessage }).optional(),
  /** Or a reply in a thread whose root later operations draw (a release's): posted there, the root left as it is. */
  reply: z.object({ thread: chatThread, message: storedMessage }).optional(),
  /** Posts begun: more than one without `posted` means a post may have gone out before a crash. */
  attempts: z.number().int().nonnegative(),
  /** When it was posted, and where (a file has no message of its own). */
  posted: z.object({ at: z.number(), ref: chatThread.optional() }).optional(),
  /** Why Bakery stopped trying (the chat kept refusing it). */
  abandoned: z.string().optional(),
});
export type Announcement = z.infer<typeof announcement>;

export const operation = z.object({
  id: z.string(),
  kind: operationKind,
  app: appName,
  version,
  /** The environment a deploy (canary, promotion, rollback) is of; absent for an app of one fleet and for a bake. */
  environment: environmentName.optional(),
  requestedBy: z.string(),
  channel: z.string(),
  /** The request's own parameters (e.g. --base, --commit, --force), as the command parsed them. */
  params: z.record(z.string(), z.unknown()),
  /** What the steps learned so far (builder instance id, image id...): the resume point. */
  state: z.record(z.string(), z.unknown()),
  steps: z.array(stepRecord),
  status: operationStatus,
  thread: chatThread.optional(),
  cancelRequested: z.object({ by: z.string(), at: z.number(), rollback: z.boolean().optional() }).optional(),
  /**
   * An approver's decision, delivered to the waiting operation: written by the button press (a
   * conditional write naming the request it answers), read by the owner on its next look.
   */
  approval: z
    .object({ decision: z.enum(['promote', 'rollback']), by: z.string(), byName: z.string(), at: z.number(), request: z.string() })
    .optional(),
  error: z.object({ step: z.string(), message: z.string(), log: z.string().optional() }).optional(),
  /** How the steps ended, written before cleanup starts, so a cleanup cut short is resumed as cleanup. */
  ending: z.enum(['succeeded', 'failed', 'cancelled']).optional(),
  /** What the operation announces in its thread, in order; see announcement. */
  outbox: z.array(announcement).optional(),
  /** Which replica posts a finished operation's pending announcements, until when (a finished operation has no lease). */
  announcing: z.object({ owner: z.string(), until: z.number() }).optional(),
  /** Which replica runs it and until when; a lease not renewed in time may be taken over. */
  lease: z.object({ owner: z.string(), until: z.number() }).optional(),
  createdAt: z.number(),
  updatedAt: z.number(),
  finishedAt: z.number().optional(),
  /** Optimistic concurrency: each write must name the revision it read. */
  revision: z.number().int().nonnegative(),
});
export type Operation = z.infer<typeof operation>;

/** What others deliver to a running operation without a new revision (a cancel, a decision), and whether it still runs. */
export const operationSignals = operation.pick({ status: true, cancelRequested: true, approval: true });
export type OperationSignals = z.infer<typeof operationSignals>;

/** What an operation's standing is, without its params and state: whether it still holds what it made. */
export const operationStanding = operation.pick({ id: true, kind: true, status: true, lease: true, updatedAt: true }).extend({
  /**
   * Of its state, only the ids of what it made (a bake's builder, its volumes, image, snapshots, copies
   * and what it could not remove): the sweep removes nothing else (src/jobs/README.md).
   */
  state: z
    .object({
      builderId: z.string().optional(),
      builderVolumes: z.array(z.string()).optional(),
      imageId: z.string().optional(),
      snapshotIds: z.array(z.string()).optional(),
      regions: z.record(z.string(), z.object({ imageId: z.string().optional(), snapshotIds: z.array(z.string()).optional() })).optional(),
      leftovers: z.array(z.string()).optional(),
    })
    .optional(),
});
export type OperationStanding = z.infer<typeof operationStanding>;

/** One bake per app, and one deploy (canary, promotion, rollback) per app and environment, at a time. */
export const lockLane = z.enum(['bake', 'deploy']);
export type LockLane = z.infer<typeof lockLane>;
export const laneOf = (kind: OperationKind): LockLane => (kind === 'bake' ? 'bake' : 'deploy');

export const appLock = z.object({
  app: appName,
  operationId: z.string(),
  kind: operationKind,
  version,
  /** A deploy lane's environment: staging moves while production is mid-canary. */
  environment: environmentName.optional(),
  /** Slack user id of who asked. */
  requestedBy: z.string(),
  since: z.number(),
  /** The chat request that took the lock: its retries are recognised from the lock alone. */
  requestId: z.string().optional(),
});
export type AppLock = z.infer<typeof appLock>;

export const auditEntry = z.object({
  app: appName,
  at: z.number(),
  actor: z.string(),
  action: z.string(),
  operationId: z.string().optional(),
  detail: z.string().optional(),
});
export type AuditEntry = z.infer<typeof auditEntry>;

/** A scheduled job's slot taken by one replica: the conditional put that makes one run per slot however many replicas run. */
export const jobSlot = z.object({
  /** The slot's minute, as an ISO time. */
  slot: z.string(),
  owner: z.string(),
  claimedAt: z.number(),
  expiresAt: z.number(),
});
/** The stages of a retirement, in order (src/retire/README.md). */
export const retireStage = z.enum(['deprecated', 'disabled', 'deregistered']);
export type RetireStage = z.infer<typeof retireStage>;

/**
 * Where one bake's retirement stands (its images in every region). Each stage is a conditional write
 * on `revision`, so one replica, once, moves it on; a restart reads where it stands.
 */
export const retirement = z.object({
  app: appName,
  /** The bake (its `bakery:operation` tag) whose images these are. */
  bake: z.string().regex(/^[\w-]{1,80}$/),
  version: version.optional(),
  stage: retireStage,
  /** When the stage took effect (for a deprecation, when EC2 deprecates): the next is due its time after. */
  since: z.number(),
  /** The approver whose prune started it. */
  startedBy: z.string(),
  revision: z.number().int().nonnegative(),
});
export type Retirement = z.infer<typeof retirement>;
export type JobSlot = z.infer<typeof jobSlot>;
/** The scheduled jobs that take slots: one digest, one sweep per slot. */
export const slotJob = z.enum(['digest', 'sweep']);
export type SlotJob = z.infer<typeof slotJob>;

/** What the last real sweep removed and left for the next one (the digest reports it); ids capped. */
export const sweepSummary = z.object({
  at: z.number(),
  by: z.string(),
  removed: z.record(z.enum(['builder', 'volume', 'image', 'snapshot']), z.number().int().nonnegative()),
  /** What the sweep meant to remove but AWS refused this time (a dependency, eventual consistency). */
  left: z.number().int().nonnegative(),
  /** Resources tagged as an ended operation's that it never recorded: reported, never removed. */
  unrecorded: z.number().int().nonnegative().optional(),
  /** Removed resources, `kind id region app`, at most 100. */
  items: z.array(z.string()).max(100),
});
export type SweepSummary = z.infer<typeof sweepSummary>;
