/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Local endpoints (pods on this node) and the ipcache that maps any IPv4
 * address or CIDR to a security identity. */
#ifndef EBF_ENDPOINTS_H
#define EBF_ENDPOINTS_H

#include "common.h"

#ifndef ENDPOINTS_MAP_MAX
#define ENDPOINTS_MAP_MAX 65536
#endif
#ifndef IPCACHE_MAP_MAX
#define IPCACHE_MAP_MAX 512000
#endif

/* Reserved identities, mirrored in src/policy. */
#define IDENTITY_UNKNOWN 0
#define IDENTITY_HOST    1
#define IDENTITY_WORLD   2

#define EP_F_INGRESS_ENFORCED 0x1 /* some policy selects the pod for ingress */
#define EP_F_EGRESS_ENFORCED  0x2 /* some policy selects the pod for egress */

struct endpoint_info {
	__u32 ifindex;     /* host-side veth */
	__u32 endpoint_id; /* key of its policy entries */
	__u32 identity;    /* the pod's security identity */
	__u32 policy_rev;  /* bumped on every policy change of this endpoint */
	__u8 flags;        /* EP_F_* */
	__u8 pad[3];
};

struct ipcache_key {
	__u32 prefixlen;   /* LPM: bits of addr that count */
	__be32 addr;
};

struct ipcache_value {
	__u32 identity;
	__u32 pad;
};

// Pods on this node by IPv4 address.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __be32);
	__type(value, struct endpoint_info);
	__uint(max_entries, ENDPOINTS_MAP_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ebf_endpoints_v1 SEC(".maps");

// Address or CIDR -> security identity (pods cluster-wide, policy CIDRs, world).
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct ipcache_key);
	__type(value, struct ipcache_value);
	__uint(max_entries, IPCACHE_MAP_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ebf_ipcache_v1 SEC(".maps");

static __always_inline struct endpoint_info *endpoint_lookup(__be32 addr)
{
	return bpf_map_lookup_elem(&ebf_endpoints_v1, &addr);
}

/* ipcache_identity returns the identity of addr; WORLD when nothing matches. */
static __always_inline __u32 ipcache_identity(__be32 addr)
{
	struct ipcache_key key = { .prefixlen = 32, .addr = addr };
	struct ipcache_value *v = bpf_map_lookup_elem(&ebf_ipcache_v1, &key);

	return v ? v->identity : IDENTITY_WORLD;
}

#endif /* EBF_ENDPOINTS_H */
