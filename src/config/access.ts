import { z } from 'zod';

/** Who may act: a Slack user (U…), a user group (S…), or `channel`, the members of the app's channel. */
export const principal = z.string().regex(/^(channel|[UWS][A-Z0-9]{2,20})$/, 'a Slack user id (U0123…), user group id (S0123…) or channel');
export type Principal = z.infer<typeof principal>;

const principals = z.array(principal).min(1, 'name at least one user, user group or channel');

/**
 * Per app, who may do what. Approving a promotion is for the deploy section's approvers (with its
 * four-eyes rule); whoever started an operation may always cancel or roll back their own.
 */
export const accessConfig = z.strictObject({
  bake: principals.default(['channel']),
  /** Default: whoever may bake. */
  cancel: principals.optional(),
  canary: principals.default(['channel']),
  /** Default: the deploy section's approvers. */
  rollback: principals.optional(),
});
export type AccessConfig = z.infer<typeof accessConfig>;
