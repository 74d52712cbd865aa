// The bench's kube-proxy baselines on real namespaces: the generated
// iptables and nftables rulesets load in a node namespace, DNAT a ClusterIP
// to the backends, and suspend/resume takes them off and back on the path.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { cleanupStale, execInNetns, spawnInNetns, type NetnsProcess, type PodNetwork, createPodNetwork } from '../../src/netns/index.js';
import { createIptablesMode, createNftablesMode } from '../../bench/lib/modes.js';
import { backendIpFor, makeServices, SERVICE_CIDR } from '../../bench/lib/services.js';
import type { LbBenchContext, LbMode } from '../../bench/lib/types.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('netns-kubeproxy-modes: skipped, needs root for network namespaces and iptables/nft inside them');

const prefix = `ebfk${process.pid % 100000}`;
const backends = [backendIpFor(0), backendIpFor(1), backendIpFor(2)];

// Answers each connection with the address it was accepted on.
const SERVER = `require('net').createServer(s=>{s.end(s.localAddress)}).listen(80,'0.0.0.0',()=>console.log('ready'))`;
const CLIENT = `const c=require('net').connect(80,process.argv[1]);let r='';c.setTimeout(1500,()=>{console.log('TIMEOUT');process.exit(0)});c.on('data',d=>r+=d);c.on('end',()=>{console.log(r);process.exit(0)});c.on('error',e=>{console.log('ERR '+e.code);process.exit(0)})`;

describe.skipIf(!isRoot)('kube-proxy baseline modes (root)', () => {
  let net: PodNetwork;
  let server: NetnsProcess;
  let ctx: LbBenchContext;

  beforeAll(async () => {
    await cleanupStale(prefix);
    net = await createPodNetwork({
      prefix,
      pods: [
        { name: 'client', ip: '10.200.0.10' },
        { name: 'backend', ip: '10.200.0.20', extraIps: backends },
      ],
    });
    server = spawnInNetns(net.pods[1]!.ns, process.execPath, ['-e', SERVER]);
    const deadline = Date.now() + 5000;
    while (!server.stdout.includes('ready') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    ctx = {
      net,
      nodeNs: net.nodeNs,
      client: net.pods[0]!,
      backend: net.pods[1]!,
      backendIps: backends,
      backendPort: 80,
      clusterCidr: '10.0.0.0/8',
      serviceCidr: SERVICE_CIDR,
      crrPath: '/nonexistent',
      repoRoot: process.cwd(),
      logger: createLogger({ level: 'silent' }),
    };
  });

  afterAll(async () => {
    server?.kill('SIGKILL');
    await server?.wait();
    await net?.destroy();
  });

  async function connect(ip: string): Promise<string> {
    const r = await execInNetns(ctx.client.ns, process.execPath, ['-e', CLIENT, ip], { timeoutMs: 10_000 });
    return r.stdout.trim();
  }

  for (const make of [createIptablesMode, createNftablesMode] as Array<(c: LbBenchContext) => LbMode>) {
    it(`${make.name}: DNATs ClusterIPs to the backends while resumed, not while suspended`, async () => {
      const mode = make(ctx);
      try {
        const services = makeServices(3, backends);
        const { programMs } = await mode.program(services);
        expect(programMs).toBeGreaterThan(0);
        expect(backends).toContain(await connect(services[0]!.clusterIP));
        await mode.suspend();
        // Programmed but suspended: the ClusterIP is not routed anywhere.
        expect(await connect(services[1]!.clusterIP)).not.toMatch(/^10\.180\./);
        await mode.resume();
        const seen = new Set<string>();
        for (let i = 0; i < 12; i++) seen.add(await connect(services[i % 3]!.clusterIP));
        expect([...seen].every((ip) => backends.includes(ip))).toBe(true);
        expect(seen.size).toBeGreaterThan(1);
        await mode.suspend();
        expect(await connect(services[2]!.clusterIP)).not.toMatch(/^10\.180\./);
      } finally {
        await mode.teardown();
      }
    });
  }
});
