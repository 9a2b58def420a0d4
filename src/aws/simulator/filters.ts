import type { Filter, Tag, TagSpecification } from '@aws-sdk/client-ec2';
import { fail } from './errors.js';
import type { Tags } from './world.js';

/** EC2 filter values accept * (any run) and ? (one character). */
export function wildcardMatch(pattern: string, value: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern === value;
  const regex = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${regex}$`, 's').test(value);
}

/** EC2 refuses a describe whose filters carry more values than this, all filters together. */
export const MAX_FILTER_VALUES = 200;

/**
 * Applies EC2 filters: each filter must match (AND), any of its values may (OR).
 * `fields` gives, per supported filter name, the resource's values for it; tag filters are built in.
 * An unknown filter name is rejected as EC2 does, so a typo in production code shows up here first.
 */
export function applyFilters<T>(
  items: T[],
  filters: Filter[] | undefined,
  fields: Record<string, (item: T) => string | string[] | undefined>,
  tagsOf: (item: T) => Tags,
): T[] {
  if (!filters?.length) return items;
  const values = filters.reduce((n, filter) => n + (filter.Values?.length ?? 0), 0);
  if (values > MAX_FILTER_VALUES) fail('FilterLimitExceeded', `The maximum number of filter values specified on a single call is ${MAX_FILTER_VALUES}`);
  const predicates = filters.map((filter) => {
    const name = filter.Name ?? '';
    const values = filter.Values ?? [];
    let valuesOf: (item: T) => string[];
    if (name.startsWith('tag:')) {
      const key = name.slice(4);
      valuesOf = (item) => {
        const value = tagsOf(item)[key];
        return value === undefined ? [] : [value];
      };
    } else if (name === 'tag-key') {
      valuesOf = (item) => Object.keys(tagsOf(item));
    } else {
      const field = fields[name];
      if (!field) fail('InvalidParameterValue', `The filter '${name}' is invalid`);
      valuesOf = (item) => [field(item) ?? []].flat();
    }
    return (item: T) => valuesOf(item).some((actual) => values.some((pattern) => wildcardMatch(pattern, actual)));
  });
  return items.filter((item) => predicates.every((matches) => matches(item)));
}

export function tagList(tags: Tags): Tag[] | undefined {
  const list = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
  return list.length ? list : undefined;
}

export function validateTags(tags: Tag[] | undefined): Tags {
  const result: Tags = {};
  for (const tag of tags ?? []) {
    const key = tag.Key ?? '';
    if (!key || key.length > 128) fail('InvalidParameterValue', `Tag key '${key}' must be 1 to 128 characters`);
    if (key.toLowerCase().startsWith('aws:')) fail('InvalidParameterValue', `Tag keys starting with 'aws:' are reserved for internal use`);
    const value = tag.Value ?? '';
    if (value.length > 256) fail('InvalidParameterValue', `Tag value for '${key}' is longer than 256 characters`);
    result[key] = value;
  }
  return result;
}

/** The tags a request asks for per resource type; any other resource type is rejected as EC2 does. */
export function tagsFromSpecifications(specs: TagSpecification[] | undefined, allowed: string[]): Record<string, Tags> {
  const byType: Record<string, Tags> = {};
  for (const spec of specs ?? []) {
    const type = spec.ResourceType ?? '';
    if (!allowed.includes(type)) {
      fail('InvalidParameterValue', `'${type}' is not a valid taggable resource type for this operation.`);
    }
    byType[type] = { ...byType[type], ...validateTags(spec.Tags) };
  }
  return byType;
}
