import { z } from 'zod';

/*
 * App names, versions and the other values a user types end up in AMI names, tags, the builder's
 * user data and shell. Their character sets are strict enough that none of them can carry quoting,
 * whitespace, substitution or path tricks into any of those places.
 */

export const appName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,38}[a-z0-9]$|^[a-z]$/, 'app names are 1-40 lowercase letters, digits and dashes, starting with a letter');

export const version = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'versions are 1-64 letters, digits, dots, dashes and underscores, starting with a letter or digit');

export const commitSha = z.string().regex(/^[0-9a-f]{7,40}$/, 'a commit is 7-40 lowercase hex digits');

export const amiId = z.string().regex(/^ami-[0-9a-f]{8,17}$/, 'an AMI id looks like ami-0123456789abcdef0');

export const ssmParameterName = z
  .string()
  .regex(/^\/?[A-Za-z0-9_.\-/]{1,1011}$/, 'an SSM parameter name is letters, digits, and _ . - /');

export const awsAccountId = z.string().regex(/^\d{12}$/, 'an AWS account id is 12 digits');

export const awsRegion = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'a region looks like us-east-1');
