import type {
  DeleteParameterCommandInput,
  GetParameterCommandInput,
  GetParametersCommandInput,
  Parameter,
  PutParameterCommandInput,
} from '@aws-sdk/client-ssm';
import { state, type Handler, type HandlerContext } from './context.js';
import { fail } from './errors.js';
import type { ParameterRecord } from './world.js';

/** SSM Parameter Store, enough for resolving base images and keeping small settings. */

function describe(ctx: HandlerContext, parameter: ParameterRecord): Parameter {
  return {
    Name: parameter.name,
    Type: parameter.type,
    Value: parameter.value,
    Version: parameter.version,
    LastModifiedDate: new Date(parameter.lastModifiedAt),
    ARN: `arn:aws:ssm:${ctx.region}:${ctx.world.accountId}:parameter${parameter.name.startsWith('/') ? '' : '/'}${parameter.name}`,
    DataType: parameter.dataType,
  };
}

function find(ctx: HandlerContext, name: string | undefined): ParameterRecord | undefined {
  return state(ctx).parameters.find((parameter) => parameter.name === name);
}

function getParameter(ctx: HandlerContext, input: GetParameterCommandInput) {
  const parameter = find(ctx, input.Name);
  if (!parameter) fail('ParameterNotFound', `Parameter ${input.Name} not found.`);
  return { Parameter: describe(ctx, parameter) };
}

function getParameters(ctx: HandlerContext, input: GetParametersCommandInput) {
  const names = input.Names ?? [];
  const found = names.flatMap((name) => find(ctx, name) ?? []);
  return {
    Parameters: found.map((parameter) => describe(ctx, parameter)),
    InvalidParameters: names.filter((name) => !find(ctx, name)),
  };
}

export function putParameter(ctx: HandlerContext, input: PutParameterCommandInput) {
  const name = input.Name;
  if (!name || input.Value === undefined) fail('ValidationException', 'Name and Value are required');
  const existing = find(ctx, name);
  if (existing && !input.Overwrite) {
    fail('ParameterAlreadyExists', 'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.');
  }
  if (existing) {
    existing.value = input.Value;
    existing.version += 1;
    existing.lastModifiedAt = ctx.now;
    if (input.Type) existing.type = input.Type;
    return { Version: existing.version, Tier: 'Standard' as const };
  }
  state(ctx).parameters.push({
    name,
    type: input.Type ?? 'String',
    value: input.Value,
    version: 1,
    dataType: input.DataType ?? 'text',
    lastModifiedAt: ctx.now,
  });
  return { Version: 1, Tier: 'Standard' as const };
}

function deleteParameter(ctx: HandlerContext, input: DeleteParameterCommandInput) {
  if (!find(ctx, input.Name)) fail('ParameterNotFound', `Parameter ${input.Name} not found.`);
  state(ctx).parameters = state(ctx).parameters.filter((parameter) => parameter.name !== input.Name);
  return {};
}

export const ssmHandlers: Record<string, Handler> = {
  GetParameter: getParameter,
  GetParameters: getParameters,
  PutParameter: putParameter,
  DeleteParameter: deleteParameter,
};
