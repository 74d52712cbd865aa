import { describe, expect, it } from 'vitest';
import { parseServerFlags, parseTokenFile } from '../../src/cli/server.js';

describe('ebbflow server flags', () => {
  it('defaults to sqlite under the data dir on loopback:6443', () => {
    const c = parseServerFlags([]);
    expect(c).toMatchObject({ dataDir: '/var/lib/ebbflow/server', bind: '127.0.0.1', port: 6443, datastore: { kind: 'sqlite', path: '/var/lib/ebbflow/server/state.db' } });
  });
  it('parses datastore URLs and rejects bad input', () => {
    expect(parseServerFlags(['--datastore', 'etcd://10.0.0.1:2379,10.0.0.2:2379', '--port', '0']).datastore).toEqual({ kind: 'etcd', endpoints: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'] });
    expect(parseServerFlags(['--data-dir', '/d', '--datastore', 'sqlite:///x/y.db']).datastore).toEqual({ kind: 'sqlite', path: '/x/y.db' });
    expect(() => parseServerFlags(['--port', 'http'])).toThrow(/not a port/);
    expect(() => parseServerFlags(['--datastore', 'mysql://x'])).toThrow(/expected sqlite/);
    expect(() => parseServerFlags(['--bogus'])).toThrow();
  });
  it('reads token files', () => {
    expect(parseTokenFile('# comment\nt1,alice,1\nt2,bob,2,"dev,ops"\n')).toEqual({ t1: { user: 'alice', groups: [] }, t2: { user: 'bob', groups: ['dev', 'ops'] } });
    expect(() => parseTokenFile('justatoken')).toThrow(/line 1/);
  });
});
