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
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|dist|test|bench|deploy|scripts)/' },
  },
};
