/*
 * The shapes of Slack request Bakery takes, checked before Bolt sees a body. Bolt reads fields of
 * a payload unchecked (a block_actions payload without `user` or `team` throws a TypeError in its
 * team-id parsing) and leaves a request no listener matches unanswered for 3 s; a body refused
 * here is answered at once instead, with the reason logged as one warn line.
 */
import { z } from 'zod';

const id = z.string().min(1);

/** The Slack handshakes Bolt answers itself. */
const handshake = z.union([z.object({ ssl_check: z.literal('1') }), z.object({ type: z.literal('url_verification'), challenge: z.string() })]);

function slashCommand(commands: string[]) {
  return z.object({
    command: z.string().refine((name) => commands.includes(name), 'not a command Bakery answers'),
    team_id: id,
    user_id: id,
    channel_id: id,
    trigger_id: id,
  });
}

/** A button press: what Bolt reads to route it (type, team, user) and what Bakery needs to answer it. */
const blockActions = z
  .object({
    type: z.literal('block_actions'),
    user: z.object({ id, team_id: id.optional() }),
    // Null in org-wide installs, where the user's team_id names the workspace.
    team: z.object({ id }).nullable(),
    channel: z.object({ id }).optional(),
    container: z.object({ type: z.string().optional(), channel_id: id.optional() }).optional(),
    actions: z.array(z.object({ action_id: id })).min(1),
  })
  .refine((body) => body.team !== null || body.user.team_id !== undefined, { message: 'no team', path: ['team'] })
  // A press in the Home tab comes from a view, which is in no channel.
  .refine((body) => body.channel !== undefined || body.container?.channel_id !== undefined || body.container?.type === 'view', { message: 'no channel', path: ['channel'] });

/** The one event Bakery subscribes to: its Home tab was opened. */
const homeOpened = z.object({
  type: z.literal('event_callback'),
  team_id: id,
  event: z.object({ type: z.literal('app_home_opened'), user: id, tab: z.string() }),
});

/**
 * For the slash commands Bakery answers: why a parsed Slack body is not a request Bakery takes, or
 * undefined when it is one. Names the kind and the field, never a value from the body (which is
 * the sender's, and may be anything). Made once per receiver: a zod schema is costly to build.
 */
export function slackRefusals(commands: string[]): (body: unknown) => string | undefined {
  const command = slashCommand(commands);
  return (body) => {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body is not an object';
    if (handshake.safeParse(body).success) return undefined;
    const fields = body as Record<string, unknown>;
    if ('command' in fields) return firstProblem('slash command', command.safeParse(body));
    if (fields.type === 'block_actions') return firstProblem('button press', blockActions.safeParse(body));
    if (fields.type === 'event_callback') return firstProblem('event', homeOpened.safeParse(body));
    return typeof fields.type === 'string' ? 'an interaction of a type Bakery does not handle' : 'neither a slash command nor an interaction';
  };
}

function firstProblem(kind: string, result: z.ZodSafeParseResult<unknown>): string | undefined {
  if (result.success) return undefined;
  const issue = result.error.issues[0];
  const path = issue?.path.join('.') || 'body';
  return `${kind}: field "${path}": ${issue?.code === 'invalid_type' ? 'missing or of the wrong type' : issue?.message}`;
}
