// The policy component's public surface: what the agent and the dataplane
// tests import. Everything else in this folder is internal.
export type * from './types.js';
export { PROTO, objectKey, podIPv4s } from './types.js';
export { matchesSelector } from './selectors.js';
export * from './identity.js';
export { StoreIdentityAllocator, MemoryIdentityStore, type IdentityStore } from './identity-store.js';
export { Ipcache, diffIpcache, type IpcacheEntry, type IpcacheDiff } from './ipcache.js';
export { compilePolicies, effectivePolicyTypes, entryKey, compareEntries } from './compiler.js';
export type { CompiledPolicies, CompileOptions, Direction, EndpointPolicy, PolicyEntry } from './compiler.js';
export { expandPortRange, entryPortBlocks, type PortBlock, type EntryPortBlock } from './ports.js';
export { policyUpdate, diffEndpointPolicy, applyPolicyUpdate, type EndpointPolicyUpdate } from './update.js';
export { allowed, endpointIp, type Endpoint, type ModelOptions } from './model.js';
export { evaluateCompiled, endpointAllows } from './evaluate.js';
