/**
 * The way imports may run in Bakery (see ../shared/STYLE.md's "Our own shape" and README.md's layout):
 * checked by `npm test` with dependency-cruiser. Type-only imports count: a loop of types is still a loop.
 */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'Imports run one way: no module reaches itself again.', from: {}, to: { circular: true } },
    {
      name: 'runner-and-pipelines-know-no-chat',
      severity: 'error',
      comment: 'Operations and pipelines speak the neutral message model (src/message.ts); only the chat renders it.',
      from: { path: '^src/(operations|pipelines)/' },
      to: { path: '^src/chat/' },
    },
    {
      name: 'judge-is-pure',
      severity: 'error',
      comment: 'The judge decides on numbers alone: no AWS, chat, store or pipeline.',
      from: { path: '^src/judge/' },
      to: { path: '^src/(?!judge/)' },
    },
    {
      name: 'config-knows-no-pipeline',
      severity: 'error',
      comment: 'Config is read by everyone and reads no one above it.',
      from: { path: '^src/config/' },
      to: { path: '^src/(pipelines|operations|chat|jobs|stale|retire|access)/' },
    },
    {
      name: 'commands-ask-the-core-not-aws',
      severity: 'error',
      comment: 'A command parses and asks the core; AWS is the pipelines\' and jobs\' business.',
      from: { path: '^commands/' },
      to: { path: '^src/aws/' },
    },
    {
      name: 'simulator-only-where-the-app-is-put-together',
      severity: 'error',
      comment: 'Nothing in src/ knows whether it talks to AWS or the simulator; main.ts decides.',
      from: { path: '^(src|commands)/', pathNot: '^src/(main\\.ts|aws/simulator/)' },
      to: { path: '^src/aws/simulator/' },
    },
    {
      name: 'aws-sdk-clients-load-at-first-use',
      severity: 'error',
      comment: 'An SDK client module is loaded by src/aws/clients.ts at its first client (EC2\'s alone is ~70 MB resident); elsewhere only its types.',
      from: { path: '^(src|commands)/', pathNot: '^src/aws/(clients\\.ts|simulator/)' },
      to: { path: '^node_modules/@aws-sdk/client-(ec2|ssm|auto-scaling|elastic-load-balancing-v2|cloudwatch)/', dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // The SDK's client modules stay in (unfollowed), for the rule on where they are loaded.
    exclude: { path: '^(node_modules/(?!@aws-sdk/client-)|(dist|test|bench|deploy|scripts)/)' },
  },
};
