// The real kubectl 1.32 against the API server plus controller manager:
// apply, rollout status, scale, set image, rollout undo, rollout history.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deployment } from '../../src/api/apps.js';
import type { Pod } from '../../src/api/core.js';
import { connect, type Client } from '../../src/client/client.js';
import { resources } from '../../src/client/resources.js';
import { startControllerManager, type ControllerManagerHandle } from '../../src/controllers/manager.js';
import { startTestServer, type TestServer } from '../helpers/apiserver.js';
import { startSimKubelet, waitFor, type SimKubelet } from '../helpers/sim-kubelet.js';

let s: TestServer;
let client: Client;
let kubelet: SimKubelet;
let cm: ControllerManagerHandle;

const manifest = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: ${image}
`;

beforeAll(async () => {
  s = await startTestServer();
  client = connect(s.kubeconfig);
  kubelet = await startSimKubelet({ client, nodes: ['n1', 'n2'] });
  cm = await startControllerManager({ kubeconfig: s.kubeconfig, leaderElection: false });
});
afterAll(async () => {
  await cm?.stop();
  await kubelet?.stop();
  client?.close();
  await s?.close();
});

const images = async () => (await client.list<Pod>(resources.pods, 'default')).items.filter((p) => p.metadata.labels?.app === 'web' && !p.metadata.deletionTimestamp).map((p) => p.spec.containers[0].image);

describe('kubectl', () => {
  it('apply, rollout status, scale, set image, rollout undo', async () => {
    const ok = async (args: string[], input?: string) => {
      const r = await s.kubectl(args, input);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      return r.stdout;
    };
    expect(await ok(['apply', '-f', '-'], manifest('nginx:1.25'))).toContain('deployment.apps/web created');
    expect(await ok(['rollout', 'status', 'deployment/web', '--timeout=30s'])).toContain('successfully rolled out');
    expect(await images()).toEqual(['nginx:1.25', 'nginx:1.25', 'nginx:1.25']);

    expect(await ok(['scale', 'deployment/web', '--replicas=4'])).toContain('scaled');
    expect(await ok(['rollout', 'status', 'deployment/web', '--timeout=30s'])).toContain('successfully rolled out');
    await waitFor('4 pods', async () => (await images()).length === 4);

    await ok(['set', 'image', 'deployment/web', 'web=nginx:1.26']);
    expect(await ok(['rollout', 'status', 'deployment/web', '--timeout=30s'])).toContain('successfully rolled out');
    await waitFor('new image', async () => { const i = await images(); return i.length === 4 && i.every((x) => x === 'nginx:1.26'); });

    const history = await ok(['rollout', 'history', 'deployment/web']);
    expect(history).toMatch(/1\s/);
    expect(history).toMatch(/2\s/);

    expect(await ok(['rollout', 'undo', 'deployment/web'])).toContain('rolled back');
    expect(await ok(['rollout', 'status', 'deployment/web', '--timeout=30s'])).toContain('successfully rolled out');
    await waitFor('old image back', async () => { const i = await images(); return i.length === 4 && i.every((x) => x === 'nginx:1.25'); });
    const d = await client.get<Deployment>(resources.deployments, 'default', 'web');
    expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('3');

    const got = await ok(['get', 'deployment', 'web']);
    expect(got).toMatch(/web\s+4\/4\s+4\s+4/);

    // Paused: template changes wait for resume.
    await ok(['rollout', 'pause', 'deployment/web']);
    await ok(['set', 'image', 'deployment/web', 'web=nginx:1.27']);
    await waitFor('pause observed', async () => {
      const x = await client.get<Deployment>(resources.deployments, 'default', 'web');
      return x.status?.observedGeneration === x.metadata.generation && x.status?.conditions?.some((c) => c.type === 'Progressing' && c.reason === 'DeploymentPaused');
    });
    expect(new Set(await images())).toEqual(new Set(['nginx:1.25']));
    await ok(['rollout', 'resume', 'deployment/web']);
    expect(await ok(['rollout', 'status', 'deployment/web', '--timeout=30s'])).toContain('successfully rolled out');
    await waitFor('resumed image', async () => { const i = await images(); return i.length === 4 && i.every((x) => x === 'nginx:1.27'); });
  });
});
