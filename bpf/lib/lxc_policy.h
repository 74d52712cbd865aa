/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The NetworkPolicy stage of the tc programs: conntrack lookup of the
 * connection a packet belongs to, a policy lookup for new connections
 * (and for known ones after the endpoint's policy changed), and the
 * conntrack entry that lets the rest of the connection and its replies by. */
#ifndef EBF_LXC_POLICY_H
#define EBF_LXC_POLICY_H

#include "common.h"
#include "conntrack.h"
#include "endpoints.h"
#include "events.h"
#include "pkt.h"
#include "policy.h"

struct policy_result {
	__u8 verdict;      /* POLICY_VERDICT_* */
	__u8 is_new;       /* a conntrack entry was created */
	__u32 remote;      /* identity of the peer */
};

static __always_inline int __policy_recheck(const struct endpoint_info *ep, __u32 remote, __u8 dir,
					    __u8 proto, __be16 port)
{
	__u8 enforced = ep->flags & (dir == POLICY_DIR_INGRESS ? EP_F_INGRESS_ENFORCED
							      : EP_F_EGRESS_ENFORCED);

	if (!enforced)
		return 1;
	if (dir == POLICY_DIR_INGRESS && remote == IDENTITY_HOST)
		return 1; /* the node itself (kubelet probes) is always let in */
	return policy_allows(ep, remote, dir, proto, port);
}

/* lxc_policy4 decides on a packet leaving (dir EGRESS, ep = source) or
 * entering (dir INGRESS, ep = destination) a local endpoint. Returns 0
 * with res filled, or DROP_POLICY_DENIED / DROP_CT_CREATE. */
static __always_inline int lxc_policy4(const struct pkt4 *p, struct endpoint_info *ep, __u8 dir,
				       struct policy_result *res)
{
	__u8 own = dir == POLICY_DIR_INGRESS ? CT_TUPLE_F_INGRESS : 0;
	__be32 peer = dir == POLICY_DIR_INGRESS ? p->saddr : p->daddr;
	struct ct4_tuple t = {
		.daddr = p->daddr,
		.saddr = p->saddr,
		.dport = p->dport,
		.sport = p->sport,
		.nexthdr = p->proto,
		.flags = own,
	};
	struct ct4_entry *ct;
	__u32 remote;

	/* 1. A connection this endpoint's own direction already saw. */
	ct = ct4_lookup(&t);
	if (ct) {
		if (ct->policy_rev != ep->policy_rev) {
			remote = ipcache_identity(peer);
			if (!__policy_recheck(ep, remote, dir, p->proto, p->dport))
				return DROP_POLICY_DENIED;
			ct->policy_rev = ep->policy_rev;
		}
		ct4_touch(ct, p->proto, p->tcp_flags, p->len, 0);
		res->verdict = ct->policy_verdict;
		return 0;
	}
	/* 2. A reply to a connection the other direction of this endpoint saw:
	 * its entry is keyed by the initiator's tuple, in the other scope. */
	t.daddr = p->saddr;
	t.saddr = p->daddr;
	t.dport = p->sport;
	t.sport = p->dport;
	t.flags = own ^ CT_TUPLE_F_INGRESS;
	ct = ct4_lookup(&t);
	if (ct) {
		if (ct->policy_rev != ep->policy_rev) {
			/* Re-check the connection as it was opened: other direction,
			 * the peer's identity, this endpoint-side port. */
			remote = ipcache_identity(peer);
			if (!__policy_recheck(ep, remote, dir ^ 1, p->proto, p->sport))
				return DROP_POLICY_DENIED;
			ct->policy_rev = ep->policy_rev;
		}
		ct4_touch(ct, p->proto, p->tcp_flags, p->len, 1);
		res->verdict = POLICY_VERDICT_REPLY;
		return 0;
	}
	/* 3. A new connection. */
	remote = ipcache_identity(peer);
	res->remote = remote;
	res->is_new = 1;
	res->verdict = POLICY_VERDICT_NONE;
	if (ep->flags & (dir == POLICY_DIR_INGRESS ? EP_F_INGRESS_ENFORCED : EP_F_EGRESS_ENFORCED)) {
		if (!__policy_recheck(ep, remote, dir, p->proto, p->dport)) {
			res->verdict = POLICY_VERDICT_DENIED;
			return DROP_POLICY_DENIED;
		}
		res->verdict = POLICY_VERDICT_ALLOWED;
	}
	t.daddr = p->daddr;
	t.saddr = p->saddr;
	t.dport = p->dport;
	t.sport = p->sport;
	t.flags = own;
	return ct4_create_policy(&t, dir == POLICY_DIR_INGRESS ? remote : ep->identity,
				 res->verdict, ep->policy_rev, p->tcp_flags, p->len);
}

#endif /* EBF_LXC_POLICY_H */
