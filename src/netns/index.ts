// Public surface of the netns component: namespaces, links, processes,
// cgroups and the node-with-pods topology, all driven through iproute2.
export * from './errors.js';
export { checkIfName, checkNetnsName, hostIfName, MAX_IFNAME } from './names.js';
export { checkCidr, checkIpv4 } from './args.js';
export { createNetns, deleteNetns, listNetns, netnsExists, netnsPath, sysctl, NETNS_RUN_DIR } from './namespaces.js';
export type { CreateNetnsOptions } from './namespaces.js';
export { addAddress, addRoute, createVethPair, linkIndex, linkMac, setNeighbor, setUp } from './links.js';
export type { RouteOptions, VethPairSpec } from './links.js';
export { execInNetns, spawnInNetns } from './processes.js';
export type { ExecOptions, ExitStatus, NetnsProcess, SpawnOptions } from './processes.js';
export { CGROUP2_ROOT, checkCgroupPath, createCgroup, removeCgroup } from './cgroups.js';
export { cleanupStale, createPodNetwork, POD_GATEWAY, POD_IFNAME } from './topology.js';
export type { PodInfo, PodNetwork, PodNetworkOptions, PodSpec } from './topology.js';
