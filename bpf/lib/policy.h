/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* NetworkPolicy verdicts: one LPM map of allow entries keyed by (endpoint,
 * remote identity, direction, protocol, port prefix). Identity 0 in an
 * entry means "any peer"; protocol 0 "any protocol"; port ranges are
 * power-of-two blocks expressed through the prefix length. */
#ifndef EBF_POLICY_H
#define EBF_POLICY_H

#include "common.h"
#include "endpoints.h"

#ifndef POLICY_MAP_MAX
#define POLICY_MAP_MAX 262144
#endif

#define POLICY_DIR_INGRESS 0
#define POLICY_DIR_EGRESS  1

#define POLICY_VERDICT_NONE    0 /* not enforced in this direction */
#define POLICY_VERDICT_ALLOWED 1 /* allowed by an entry */
#define POLICY_VERDICT_DENIED  2
#define POLICY_VERDICT_REPLY   3 /* reply of an allowed connection */

/* Bits of the key after prefixlen: endpoint 32, identity 32, direction 8,
 * protocol 8, port 16. */
#define POLICY_FULL_PREFIX 96

struct policy_key {
	__u32 prefixlen;
	__u32 endpoint_id;
	__u32 identity;
	__u8 direction;
	__u8 proto;
	__be16 dport;
};

struct policy_value {
	__u8 allow;   /* 1: allow (only allow entries exist today) */
	__u8 pad[3];
	__u32 rule;   /* index of the compiled rule, for flow reports */
};

// Allow entries of every local endpoint's compiled NetworkPolicies.
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct policy_key);
	__type(value, struct policy_value);
	__uint(max_entries, POLICY_MAP_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ebf_policy_v1 SEC(".maps");

static __always_inline int __policy_lookup(__u32 endpoint_id, __u32 identity, __u8 dir,
					   __u8 proto, __be16 dport)
{
	struct policy_key key = {
		.prefixlen = POLICY_FULL_PREFIX,
		.endpoint_id = endpoint_id,
		.identity = identity,
		.direction = dir,
		.proto = proto,
		.dport = dport,
	};
	struct policy_value *v = bpf_map_lookup_elem(&ebf_policy_v1, &key);

	return v && v->allow;
}

/* policy_allows is true when the endpoint's entries allow the remote
 * identity (or any peer) on proto/dport in direction dir. */
static __always_inline int policy_allows(const struct endpoint_info *ep, __u32 remote, __u8 dir,
					 __u8 proto, __be16 dport)
{
	if (__policy_lookup(ep->endpoint_id, remote, dir, proto, dport))
		return 1;
	return __policy_lookup(ep->endpoint_id, 0, dir, proto, dport);
}

#endif /* EBF_POLICY_H */
