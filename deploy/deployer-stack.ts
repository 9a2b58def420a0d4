/*
 * What an environment in another AWS account needs for Bakery: the role Bakery assumes there (STS
 * AssumeRole, from Bakery's account), holding exactly deploy/iam-deployer-policy.json.
 */
import { Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { readPolicy, withStackValues } from './stack.js';

export interface BakeryDeployerStackProps extends StackProps {
  /** The account Bakery runs in (its bot role's); only that account may assume the role. */
  bakeryAccount: string;
  /** Bakery's own policy may assume only roles named bakery-* (deploy/iam-policy.json). */
  roleName: string;
  /** The environment's `externalId` in the apps file, asked of every AssumeRole when set. */
  externalId?: string;
}

export const deployerPolicyFile = new URL('./iam-deployer-policy.json', import.meta.url);

export class BakeryDeployerStack extends Stack {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: BakeryDeployerStackProps) {
    super(scope, id, props);
    // ${AWS::AccountId} in the file is this account's: the role changes only the fleets here.
    this.role = new iam.Role(this, 'DeployerRole', {
      roleName: props.roleName,
      assumedBy: new iam.AccountPrincipal(props.bakeryAccount),
      ...(props.externalId !== undefined && { externalIds: [props.externalId] }),
      description: 'Bakery deployer: exactly deploy/iam-deployer-policy.json',
      inlinePolicies: { 'bakery-deployer': iam.PolicyDocument.fromJson(withStackValues(readPolicy(deployerPolicyFile), {})) },
    });
  }
}
