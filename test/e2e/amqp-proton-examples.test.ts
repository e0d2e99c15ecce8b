import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startBroker, type TestBroker } from '../helpers/broker.ts';

// Apache Qpid Proton's own Python examples (../shared/conformance/proton-examples.sh: simple
// send/receive, transactions, selected receive, queue browser) against Junction; every step must
// pass (issue 12, item 9 and its acceptance). The script prints `--- <step>: <command>`, up to three
// lines of the command's output, then `   rc=<exit code>`.

const conformance = path.resolve(import.meta.dirname, '../../../shared/conformance');
const script = path.join(conformance, 'proton-examples.sh');
const PYTHON = '/usr/bin/python3';

const skip = !existsSync(script)
  ? `no ${script}`
  : await new Promise<string | false>((resolve) => {
      execFile(PYTHON, ['-c', 'import proton'], { timeout: 10_000 }, (err) => resolve(err ? `python-qpid-proton is not available for ${PYTHON}` : false));
    });

/** The one step whose command must time out: nothing is left on the queue after tx_recv. */
const EXPECT_TIMEOUT = /expect rc=124/;

interface Step {
  name: string;
  output: string[];
  rc: number;
}

function steps(output: string): Step[] {
  const out: Step[] = [];
  let current: Step | undefined;
  for (const line of output.split('\n')) {
    const start = /^--- (.*?): /.exec(line);
    if (start) {
      current = { name: start[1]!, output: [], rc: NaN };
      out.push(current);
      continue;
    }
    const rc = /^ {3}rc=(\d+)/.exec(line);
    if (rc && current) current.rc = Number(rc[1]);
    else if (current && line.trim() !== '') current.output.push(line);
  }
  return out;
}

let broker: TestBroker;
before(async () => {
  if (!skip) broker = await startBroker({ store: { type: 'memory' } });
});
after(async () => {
  await broker?.stop();
});

test('proton-examples.sh: every step passes against Junction', { skip, timeout: 300_000 }, async () => {
  const output = await new Promise<string>((resolve) => {
    execFile('bash', [script, `127.0.0.1:${broker.ports.amqp!}`], { timeout: 290_000 }, (err, stdout, stderr) => resolve(stdout + stderr + (err ? `\n(exit: ${err.message})` : '')));
  });
  const all = steps(output);
  assert.equal(all.length, 11, `eleven steps:\n${output}`);
  for (const s of all) {
    if (EXPECT_TIMEOUT.test(s.name)) {
      assert.equal(s.rc, 124, `${s.name}: a timeout with nothing received\n${output}`);
      assert.deepEqual(s.output, [], `${s.name}: nothing received\n${output}`);
    } else {
      assert.equal(s.rc, 0, `${s.name}\n${output}`);
    }
  }
  const browser = all.find((s) => s.name.startsWith('queue_browser'))!;
  assert.ok(browser.output.some((l) => /sequence/.test(l)), `the browser printed messages:\n${output}`);
});
