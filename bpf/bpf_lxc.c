/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* tc programs on a pod's host-side veth. ebf_from_pod (tc ingress = pod
 * egress) translates Service traffic that the socket layer did not (pods
 * outside the socket-LB cgroup, raw sockets) with conntrack, then applies
 * the pod's egress policy to the (translated) packet; ebf_to_pod (tc
 * egress = pod ingress) applies the pod's ingress policy, then restores
 * the VIP on replies of translated flows. */
#include "lib/common.h"
#include "lib/pkt.h"
#include "lib/lb.h"
#include "lib/conntrack.h"
#include "lib/events.h"
#include "lib/metrics.h"
#include "lib/lxc_policy.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct lxc_ids {
	__u32 src;
	__u32 dst;
	__u8 verdict;
};

static __always_inline void lxc_emit_ids(struct __sk_buff *skb, const struct pkt4 *p, __u8 type,
					 __u8 dir, int reason, __be32 orig_daddr, __be16 orig_dport,
					 __u32 rev_nat_id, __u32 backend_id, const struct lxc_ids *ids)
{
	struct flow_event *e = pkt_event_reserve(skb, p, type, dir, reason, orig_daddr, orig_dport,
						 rev_nat_id, backend_id);

	if (!e)
		return;
	if (ids) {
		e->src_identity = ids->src;
		e->dst_identity = ids->dst;
		e->verdict = ids->verdict;
	}
	event_submit(e);
}

static __always_inline void lxc_emit(struct __sk_buff *skb, const struct pkt4 *p, __u8 type,
				     __u8 dir, int reason, __be32 orig_daddr, __be16 orig_dport,
				     __u32 rev_nat_id, __u32 backend_id)
{
	lxc_emit_ids(skb, p, type, dir, reason, orig_daddr, orig_dport, rev_nat_id, backend_id, NULL);
}

/* __lxc_policy_stage runs the policy of the local endpoint on this side of
 * the packet (source for egress, destination for ingress); returns
 * CTX_ACT_CONTINUE or a DROP_* code after reporting it. */
static __always_inline int __lxc_policy_stage(struct __sk_buff *skb, const struct pkt4 *p, __u8 dir)
{
	struct endpoint_info *ep = endpoint_lookup(dir == POLICY_DIR_EGRESS ? p->saddr : p->daddr);
	struct policy_result res = {};
	struct lxc_ids ids = {};
	__u8 edir = dir == POLICY_DIR_EGRESS ? EVENT_DIR_EGRESS : EVENT_DIR_INGRESS;
	int ret;

	if (!ep)
		return CTX_ACT_CONTINUE;
	ret = lxc_policy4(p, ep, dir, &res);
	if (ret < 0 || res.is_new) {
		ids.src = dir == POLICY_DIR_EGRESS ? ep->identity : res.remote;
		ids.dst = dir == POLICY_DIR_EGRESS ? res.remote : ep->identity;
		ids.verdict = ret == DROP_POLICY_DENIED ? POLICY_VERDICT_DENIED : res.verdict;
	}
	if (ret < 0) {
		metrics_add_drop(ret, skb->len);
		lxc_emit_ids(skb, p, EVENT_DROP, edir, ret, p->daddr, p->dport, 0, 0, &ids);
		return ret;
	}
	if (res.is_new)
		lxc_emit_ids(skb, p, EVENT_TRACE_POLICY, edir, 0, p->daddr, p->dport, 0, 0, &ids);
	return CTX_ACT_CONTINUE;
}

/* lxc_drop is the program edge for failures: count, report, drop. */
static __always_inline int lxc_drop(struct __sk_buff *skb, const struct pkt4 *p, int reason,
				    __u8 dir, __u32 rev_nat_id)
{
	metrics_add_drop(reason, skb->len);
	lxc_emit(skb, p, EVENT_DROP, dir, reason, p->daddr, p->dport, rev_nat_id, 0);
	return TC_ACT_SHOT;
}

/* lxc_reject_no_backend answers a flow to a service without backends with
 * ICMP port unreachable so the client fails at once. */
static __always_inline int lxc_reject_no_backend(struct __sk_buff *skb, struct pkt4 *p,
						 __u32 rev_nat_id)
{
	metrics_add_drop(DROP_NO_BACKEND, skb->len);
	lxc_emit(skb, p, EVENT_DROP, EVENT_DIR_EGRESS, DROP_NO_BACKEND, p->daddr, p->dport,
		 rev_nat_id, 0);
	if (pkt4_to_icmp_unreach(skb, p) < 0)
		return TC_ACT_SHOT;
	return bpf_redirect(skb->ifindex, 0);
}

/* __lxc_service4 handles a packet leaving the pod: returns CTX_ACT_CONTINUE
 * when it is not (or no longer) service traffic, a DROP_* code, or a tc
 * action for the no-backend reply. */
static __always_inline int __lxc_service4(struct __sk_buff *skb, struct pkt4 *p)
{
	struct ct4_tuple fwd = {
		.daddr = p->daddr,
		.saddr = p->saddr,
		.dport = p->dport,
		.sport = p->sport,
		.nexthdr = p->proto,
		.flags = CT_TUPLE_F_SERVICE,
	};
	struct ct4_entry *ct;
	struct lb4_backend *be;
	struct lb4_service *svc;
	__be32 vip = p->daddr;
	__be16 vport = p->dport;
	__u32 backend_id;
	int ret;

	/* The service lookup first: most packets are not to a VIP, and they
	 * then cost one hash lookup instead of a conntrack lookup as well.
	 * Flows of a deleted service are no longer translated. */
	svc = lb4_lookup_service(vip, vport, p->proto);
	if (!svc)
		return CTX_ACT_CONTINUE;
	ct = ct4_lookup(&fwd);
	if (ct) {
		be = lb4_lookup_backend(ct->backend_id);
		if (be) {
			ct4_touch(ct, p->proto, p->tcp_flags, p->len, 0);
			metrics_add(METRIC_TC_XLATE, p->len);
			return pkt4_dnat(skb, p, be->address, be->port);
		}
		/* The backend is gone entirely: choose again below. */
	}
	backend_id = lb4_pick(vip, vport, p->proto, svc,
			      hash_3words(p->saddr, ((__u32)p->sport << 16) | p->dport,
					  vip ^ p->proto, 0),
			      p->saddr, 0);
	be = backend_id ? lb4_lookup_backend(backend_id) : NULL;
	if (!be)
		return lxc_reject_no_backend(skb, p, svc->rev_nat_id);
	ret = ct4_create_service(&fwd, be->address, be->port, backend_id, svc->rev_nat_id,
				 p->tcp_flags, p->len);
	if (ret < 0)
		return ret;
	ret = pkt4_dnat(skb, p, be->address, be->port);
	if (ret < 0)
		return ret;
	metrics_add(METRIC_TC_XLATE_NEW, p->len);
	lxc_emit(skb, p, EVENT_TRACE_TC_XLATE, EVENT_DIR_EGRESS, 0, vip, vport,
		 svc->rev_nat_id, backend_id);
	return CTX_ACT_CONTINUE;
}

SEC("tc")
int ebf_from_pod(struct __sk_buff *skb)
{
	struct pkt4 p = {};
	int ret = pkt4_parse(skb, &p);

	if (ret == 0)
		return TC_ACT_OK;
	if (ret < 0)
		return lxc_drop(skb, &p, ret, EVENT_DIR_EGRESS, 0);
	if (p.has_ports) {
		ret = __lxc_service4(skb, &p);
		if (ret < 0)
			return lxc_drop(skb, &p, ret, EVENT_DIR_EGRESS, 0);
		if (ret != CTX_ACT_CONTINUE)
			return ret; /* redirect of the no-backend reply */
	}
	if (__lxc_policy_stage(skb, &p, POLICY_DIR_EGRESS) < 0)
		return TC_ACT_SHOT; /* counted and reported by the stage */
	return TC_ACT_OK;
}

/* __lxc_rev_nat4 restores VIP:port as the source of a reply to a flow the
 * tc path translated. */
static __always_inline int __lxc_rev_nat4(struct __sk_buff *skb, struct pkt4 *p)
{
	struct ct4_tuple rev = {
		.daddr = p->daddr,
		.saddr = p->saddr,
		.dport = p->dport,
		.sport = p->sport,
		.nexthdr = p->proto,
		.flags = CT_TUPLE_F_SERVICE | CT_TUPLE_F_REPLY,
	};
	struct ct4_entry *ct = ct4_lookup(&rev);
	struct lb4_reverse_nat *nat;
	__u32 id;

	if (!ct)
		return CTX_ACT_CONTINUE;
	id = ct->rev_nat_id;
	nat = bpf_map_lookup_elem(&ebf_lb4_rnat_v1, &id);
	if (!nat)
		return CTX_ACT_CONTINUE;
	ct4_touch(ct, p->proto, p->tcp_flags, p->len, 1);
	metrics_add(METRIC_TC_REV_NAT, p->len);
	return pkt4_snat(skb, p, nat->address, nat->port);
}

SEC("tc")
int ebf_to_pod(struct __sk_buff *skb)
{
	struct pkt4 p = {};
	int ret = pkt4_parse(skb, &p);

	if (ret == 0)
		return TC_ACT_OK;
	if (ret < 0)
		return lxc_drop(skb, &p, ret, EVENT_DIR_INGRESS, 0);
	/* Policy first: conntrack knows the connection by its backend address. */
	if (__lxc_policy_stage(skb, &p, POLICY_DIR_INGRESS) < 0)
		return TC_ACT_SHOT;
	if (!p.has_ports)
		return TC_ACT_OK;
	ret = __lxc_rev_nat4(skb, &p);
	if (ret < 0)
		return lxc_drop(skb, &p, ret, EVENT_DIR_INGRESS, 0);
	return TC_ACT_OK;
}
