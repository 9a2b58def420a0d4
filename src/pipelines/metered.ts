import { measureAwsCalls } from '../aws/call-meter.js';
import type { Step } from '../operations/pipeline.js';

/** What an operation's state keeps of its cost: the AWS calls made so far, and how many the SDK retried. */
interface Tally {
  awsCalls?: number;
  awsRetries?: number;
}

/** The step, adding the AWS calls each of its runs made to the operation's tally (a waiting step's looks too). */
export function metered<S extends Tally>(step: Step<S>): Step<S> {
  return {
    ...step,
    async run(input) {
      const { value, calls, retries } = await measureAwsCalls(() => step.run(input));
      return { ...value, state: { ...value?.state, awsCalls: (input.state.awsCalls ?? 0) + calls, awsRetries: (input.state.awsRetries ?? 0) + retries } as Partial<S> };
    },
  };
}
