/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Connection tracking on the tc path. Service entries (CT_TUPLE_F_SERVICE)
 * pin a translated flow to its backend and restore the VIP on replies.
 * Policy entries record connections a pod's egress or ingress policy
 * allowed, so their replies pass and later packets skip the policy lookup
 * until the pod's policy revision changes. */
#ifndef EBF_CONNTRACK_H
#define EBF_CONNTRACK_H

#include "common.h"

#ifndef CT_MAP_MAX
#define CT_MAP_MAX 262144
#endif

#define CT_LIFETIME_TCP_NS   (21600ULL * 1000000000ULL) /* established TCP */
#define CT_LIFETIME_SYN_NS   (60ULL * 1000000000ULL)    /* TCP before the reply */
#define CT_LIFETIME_CLOSE_NS (10ULL * 1000000000ULL)    /* after FIN or RST */
#define CT_LIFETIME_UDP_NS   (60ULL * 1000000000ULL)

#define CT_TUPLE_F_REPLY   0x1 /* service entry for the reply direction (backend -> client) */
#define CT_TUPLE_F_INGRESS 0x2 /* policy entry made at the responder's ingress (else: initiator's egress) */
#define CT_TUPLE_F_SERVICE 0x4 /* service translation entry */

#define CT_F_SEEN_REPLY 0x1 /* a reply was seen */
#define CT_F_CLOSING    0x2 /* FIN or RST seen */

struct ct4_tuple {
	__be32 daddr;
	__be32 saddr;
	__be16 dport;
	__be16 sport;
	__u8 nexthdr;
	__u8 flags;     /* CT_TUPLE_F_* */
	__u16 pad;
};

struct ct4_entry {
	__u64 expires_ns;   /* bpf_ktime_get_ns deadline */
	__u64 packets;
	__u64 bytes;
	__u32 backend_id;   /* forward entry: chosen backend */
	__u32 rev_nat_id;   /* service id; reply entry uses it to restore the VIP */
	__u32 src_identity; /* identity of the initiator (policy entries) */
	__u8 tcp_flags_seen;
	__u8 flags;         /* CT_F_* */
	__u8 policy_verdict;/* POLICY_VERDICT_* of the connection */
	__u8 pad;
	__u32 policy_rev;   /* endpoint policy revision the verdict was made under */
	__u32 pad2;
};

// Conntrack for tc-translated flows; LRU so a full table evicts the oldest.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct ct4_tuple);
	__type(value, struct ct4_entry);
	__uint(max_entries, CT_MAP_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ebf_ct4_v1 SEC(".maps");

static __always_inline __u64 ct_lifetime(__u8 proto, __u8 tcp_flags, __u8 ct_flags)
{
	if (proto != IPPROTO_TCP)
		return CT_LIFETIME_UDP_NS;
	if ((tcp_flags & (0x01 | 0x04)) || (ct_flags & CT_F_CLOSING)) /* FIN | RST */
		return CT_LIFETIME_CLOSE_NS;
	if (!(ct_flags & CT_F_SEEN_REPLY))
		return CT_LIFETIME_SYN_NS;
	return CT_LIFETIME_TCP_NS;
}

/* ct4_lookup returns a live entry for tuple, or NULL (expired counts as absent). */
static __always_inline struct ct4_entry *ct4_lookup(const struct ct4_tuple *tuple)
{
	struct ct4_entry *e = bpf_map_lookup_elem(&ebf_ct4_v1, tuple);

	if (e && e->expires_ns < bpf_ktime_get_ns())
		return NULL;
	return e;
}

/* ct4_touch accounts one packet and extends the entry's lifetime. */
static __always_inline void ct4_touch(struct ct4_entry *e, __u8 proto, __u8 tcp_flags,
				      __u32 len, __u8 reply)
{
	__u8 flags = e->flags;

	if (reply)
		flags |= CT_F_SEEN_REPLY;
	if (tcp_flags & (0x01 | 0x04))
		flags |= CT_F_CLOSING;
	if (flags != e->flags)
		e->flags = flags;
	e->tcp_flags_seen |= tcp_flags;
	e->packets++;
	e->bytes += len;
	e->expires_ns = bpf_ktime_get_ns() + ct_lifetime(proto, tcp_flags, flags);
}

/* ct4_create_service inserts the forward and reply entries of a new
 * service flow; returns 0 or DROP_CT_CREATE. */
static __always_inline int ct4_create_service(const struct ct4_tuple *fwd, __be32 be_addr,
					      __be16 be_port, __u32 backend_id,
					      __u32 rev_nat_id, __u8 tcp_flags, __u32 len)
{
	struct ct4_tuple rev = {
		.daddr = fwd->saddr,
		.saddr = be_addr,
		.dport = fwd->sport,
		.sport = be_port,
		.nexthdr = fwd->nexthdr,
		.flags = CT_TUPLE_F_SERVICE | CT_TUPLE_F_REPLY,
	};
	__u64 expires = bpf_ktime_get_ns() + ct_lifetime(fwd->nexthdr, tcp_flags, 0);
	struct ct4_entry e = {
		.expires_ns = expires,
		.packets = 1,
		.bytes = len,
		.backend_id = backend_id,
		.rev_nat_id = rev_nat_id,
		.tcp_flags_seen = tcp_flags,
	};

	if (bpf_map_update_elem(&ebf_ct4_v1, fwd, &e, BPF_ANY) < 0)
		return DROP_CT_CREATE;
	e.packets = 0;
	e.bytes = 0;
	if (bpf_map_update_elem(&ebf_ct4_v1, &rev, &e, BPF_ANY) < 0) {
		bpf_map_delete_elem(&ebf_ct4_v1, fwd);
		return DROP_CT_CREATE;
	}
	return 0;
}

/* ct4_create_policy records a connection seen by policy as one entry keyed
 * by the initiator's tuple in the scope (0: initiator's egress,
 * CT_TUPLE_F_INGRESS: responder's ingress) that saw it; replies find it
 * by swapping their tuple. Returns 0 or DROP_CT_CREATE. */
static __always_inline int ct4_create_policy(const struct ct4_tuple *fwd, __u32 src_identity,
					     __u8 verdict, __u32 rev, __u8 tcp_flags, __u32 len)
{
	struct ct4_entry e = {
		.expires_ns = bpf_ktime_get_ns() + ct_lifetime(fwd->nexthdr, tcp_flags, 0),
		.packets = 1,
		.bytes = len,
		.src_identity = src_identity,
		.tcp_flags_seen = tcp_flags,
		.policy_verdict = verdict,
		.policy_rev = rev,
	};

	if (bpf_map_update_elem(&ebf_ct4_v1, fwd, &e, BPF_ANY) < 0)
		return DROP_CT_CREATE;
	return 0;
}

#endif /* EBF_CONNTRACK_H */
