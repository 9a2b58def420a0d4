/** A link to an AMI in the EC2 console, as Slack mrkdwn: people click through from the thread. */
export function amiLink(region: string, imageId: string): string {
  return `<https://${region}.console.aws.amazon.com/ec2/home?region=${region}#ImageDetails:imageId=${imageId}|${imageId}>`;
}
