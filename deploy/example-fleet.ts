/*
 * An app's fleet as a platform team hands it to Bakery: a launch template, the live Auto Scaling
 * group and its load balancer's listener, each tagged `bakery:managed=true`. The bot's role may
 * change no other group, launch template or listener (deploy/README.md, "The IAM policy").
 * `npx cdk deploy -c exampleFleet=true` adds it beside the bot's stack.
 */
import { CfnOutput, Stack, Tags, type StackProps } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type { Construct, IConstruct } from 'constructs';

/** The tag deploy/iam-policy.json asks for on every live group, launch template and listener Bakery changes. */
export const managedTag = { key: 'bakery:managed', value: 'true' } as const;

/**
 * Hands these resources to Bakery. The tag stays off the instances they launch: only the group, the
 * template and the listener are what the policy checks.
 */
export function letBakeryManage(...resources: IConstruct[]): void {
  for (const resource of resources) Tags.of(resource).add(managedTag.key, managedTag.value, { applyToLaunchedInstances: false });
}

export class ExampleFleetStack extends Stack {
  readonly group: autoscaling.AutoScalingGroup;
  readonly launchTemplate: ec2.LaunchTemplate;
  readonly listener: elbv2.ApplicationListener;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const vpc = new ec2.Vpc(this, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }] });
    const instances = new ec2.SecurityGroup(this, 'Instances', { vpc, description: 'demo instances: the load balancer only' });
    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      launchTemplateName: 'demo',
      securityGroup: instances,
      machineImage: ec2.MachineImage.latestAmazonLinux2023(),
      instanceType: new ec2.InstanceType('t3.small'),
      requireImdsv2: true,
    });
    this.group = new autoscaling.AutoScalingGroup(this, 'Group', {
      autoScalingGroupName: 'demo-live',
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      launchTemplate: this.launchTemplate,
      minCapacity: 3,
      maxCapacity: 6,
    });
    const balancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', { vpc, internetFacing: true });
    this.listener = balancer.addListener('Http', { port: 80 });
    this.listener.addTargets('Live', { port: 8080, targets: [this.group], healthCheck: { path: '/healthz' } });

    letBakeryManage(this.launchTemplate, this.group, this.listener);
    // The apps file's deploy.traffic.listener for a weighted canary.
    new CfnOutput(this, 'ListenerArn', { value: this.listener.listenerArn });
  }
}
