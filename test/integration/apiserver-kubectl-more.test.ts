// More of the kubectl surface a user reaches for: describe, diff against the
// server (server-side dry run), explain from the OpenAPI, and get -w.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/apiserver.js';

describe('kubectl describe, diff, explain and watch', () => {
  let s: TestServer;
  const ok = async (args: string[], input?: string) => {
    const r = await s.kubectl(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} (${r.code}): ${r.stderr}`);
    return r.stdout;
  };
  const cm = (v: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: t}\ndata: {a: "${v}"}\n`;

  beforeAll(async () => {
    s = await startTestServer();
    await ok(['create', 'namespace', 't']);
    await ok(['apply', '-f', '-'], cm('1'));
  });
  afterAll(async () => {
    await s?.close();
  });

  it('describes an object', async () => {
    const out = await ok(['-n', 't', 'describe', 'configmap', 'c']);
    expect(out).toMatch(/Name:\s+c/);
    expect(out).toMatch(/Namespace:\s+t/);
    expect(out).toMatch(/a:\s*\n-+\n1/);
  });

  it('diffs a changed manifest against the live object and changes nothing', async () => {
    const r = await s.kubectl(['diff', '-f', '-'], cm('2'));
    expect(r.code, r.stderr).toBe(1); // 1 = differences found
    expect(r.stdout).toMatch(/-\s+a: "1"/);
    expect(r.stdout).toMatch(/\+\s+a: "2"/);
    expect(JSON.parse(await ok(['-n', 't', 'get', 'cm', 'c', '-o', 'json'])).data.a).toBe('1');
    expect((await s.kubectl(['diff', '-f', '-'], cm('1'))).code).toBe(0);
  });

  it('explains fields from the OpenAPI documents', async () => {
    const out = await ok(['explain', 'deployment.spec.replicas']);
    expect(out).toMatch(/KIND:\s+Deployment/);
    expect(out).toMatch(/FIELD:\s+replicas\s+<integer>/);
  });

  it('watches with get -w and prints the change', async () => {
    const child = spawn('kubectl', ['--kubeconfig', s.kubeconfig, '-n', 't', 'get', 'cm', 'c', '-w', '--output-watch-events', '--request-timeout', '20s'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    try {
      const until = async (re: RegExp) => {
        const end = Date.now() + 15_000;
        while (!re.test(out)) {
          if (Date.now() > end) throw new Error(`kubectl get -w printed: ${out}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      await until(/ADDED\s+c/);
      await ok(['-n', 't', 'patch', 'cm', 'c', '-p', '{"data":{"b":"x"}}']);
      await until(/MODIFIED\s+c\s+2/);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
