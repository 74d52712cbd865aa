// The kubelet's streaming routes and flags: upstream paths (with and without
// the pod UID) and the query forms both API servers send.
import { describe, expect, it } from 'vitest';
import { parseStreamPath, streamFlags } from '../../src/kubelet/streaming.js';

describe('kubelet streaming paths', () => {
  it('parses exec, attach and portForward paths with an optional pod UID', () => {
    expect(parseStreamPath('/exec/default/web/app')).toEqual({ kind: 'exec', namespace: 'default', pod: 'web', uid: undefined, container: 'app' });
    expect(parseStreamPath('/attach/ns/p/uid-1/c')).toEqual({ kind: 'attach', namespace: 'ns', pod: 'p', uid: 'uid-1', container: 'c' });
    expect(parseStreamPath('/portForward/default/web')).toEqual({ kind: 'portForward', namespace: 'default', pod: 'web', uid: undefined });
    expect(parseStreamPath('/portForward/default/web/u')).toMatchObject({ uid: 'u' });
    expect(parseStreamPath('/exec/default/web')).toBeUndefined();
    expect(parseStreamPath('/exec/default//app')).toBeUndefined();
    expect(parseStreamPath('/portForward/a/b/c/d')).toBeUndefined();
    expect(parseStreamPath('/containerLogs/a/b/c')).toBeUndefined();
  });

  it('reads flags as "true" or "1" and drops stderr under a tty', () => {
    expect(streamFlags(new URLSearchParams('stdin=true&stdout=true&stderr=true'))).toEqual({ stdin: true, stdout: true, stderr: true, tty: false });
    expect(streamFlags(new URLSearchParams('stdin=1&stdout=1&stderr=1&tty=1'))).toEqual({ stdin: true, stdout: true, stderr: false, tty: true });
    expect(streamFlags(new URLSearchParams(''))).toEqual({ stdin: false, stdout: false, stderr: false, tty: false });
  });
});
