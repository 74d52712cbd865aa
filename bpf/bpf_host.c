/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* tc programs on the node's uplink device for NodePort Services (see
 * lib/nodeport.h for the design). ebf_from_netdev (tc ingress) translates
 * new and known flows to <node IP>:<nodePort> and restores replies of
 * SNATed flows; ebf_to_netdev (tc egress) restores the frontend on
 * replies of local backends. Everything else passes untouched after a
 * parse, one config lookup and an address/port-range compare (ingress),
 * or one NAT-table lookup (egress). */
#include "lib/common.h"
#include "lib/pkt.h"
#include "lib/lb.h"
#include "lib/events.h"
#include "lib/metrics.h"
#include "lib/nodeport.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline void host_emit(struct __sk_buff *skb, const struct pkt4 *p, __u8 type,
				      int reason, __be32 orig_daddr, __be16 orig_dport,
				      __u32 rev_nat_id, __u32 backend_id)
{
	struct flow_event *e = pkt_event_reserve(skb, p, type, EVENT_DIR_INGRESS, reason, orig_daddr,
						 orig_dport, rev_nat_id, backend_id);

	if (!e)
		return;
	event_submit(e);
}

/* host_drop is the program edge for failures: count, report, drop. */
static __always_inline int host_drop(struct __sk_buff *skb, const struct pkt4 *p, int reason,
				     __u32 rev_nat_id)
{
	metrics_add_drop(reason, skb->len);
	host_emit(skb, p, EVENT_DROP, reason, p->daddr, p->dport, rev_nat_id, 0);
	return TC_ACT_SHOT;
}

/* __host_nodeport4 handles a packet to <node IP>:<port in the NodePort
 * range>: returns CTX_ACT_CONTINUE when no NodePort Service owns the port,
 * else a tc action or a DROP_* code. */
static __always_inline int __host_nodeport4(struct __sk_buff *skb, struct pkt4 *p,
					    const struct nodeport_config *cfg, __u32 *rev_nat_id)
{
	struct ct4_tuple fwd = {
		.daddr = p->daddr,
		.saddr = p->saddr,
		.dport = p->dport,
		.sport = p->sport,
		.nexthdr = p->proto,
	};
	struct np4_entry *known;
	struct np4_entry e = {};
	struct lb4_service *svc;
	struct lb4_backend *be;
	__be32 node_ip = p->daddr;
	__be16 nport = p->dport;
	__u32 backend_id;
	int remote, ret;

	svc = lb4_lookup_service(0, nport, p->proto);
	if (!svc || !(svc->flags & SVC_F_NODEPORT))
		return CTX_ACT_CONTINUE; /* a port of the node's own, not a Service's */
	*rev_nat_id = svc->rev_nat_id;
	known = np4_lookup(&fwd);
	if (known) {
		be = lb4_lookup_backend(known->backend_id);
		if (be) {
			np4_touch(known, p->proto, p->tcp_flags, p->len, 0);
			metrics_add(METRIC_NP_XLATE, p->len);
			return np4_forward(skb, p, cfg, be, known->flags, known->snat_port);
		}
		/* The backend is gone entirely: choose again below. */
	}
	backend_id = lb4_pick(0, nport, p->proto, svc,
			      hash_3words(p->saddr, ((__u32)p->sport << 16) | p->dport,
					  node_ip ^ p->proto, 0),
			      p->saddr, 0);
	be = backend_id ? lb4_lookup_backend(backend_id) : NULL;
	if (!be) {
		/* kube-proxy's behaviour: Local without a local endpoint is
		 * silence; Cluster without any endpoint is refused at once. */
		if (svc->flags & SVC_F_LOCAL)
			return DROP_NO_LOCAL_BACKEND;
		metrics_add_drop(DROP_NO_BACKEND, skb->len);
		host_emit(skb, p, EVENT_DROP, DROP_NO_BACKEND, p->daddr, p->dport, svc->rev_nat_id, 0);
		if (pkt4_to_icmp_unreach(skb, p) < 0)
			return TC_ACT_SHOT;
		return bpf_redirect(skb->ifindex, 0);
	}
	remote = np4_backend_is_remote(skb, p, be->address);
	if (remote < 0)
		return remote;
	if (remote && (svc->flags & SVC_F_LOCAL))
		return DROP_NO_LOCAL_BACKEND; /* Local never SNATs */
	ret = np4_create(cfg, p, &fwd, be, backend_id, svc->rev_nat_id, (__u8)remote, &e);
	if (ret < 0)
		return ret;
	metrics_add(METRIC_NP_XLATE_NEW, p->len);
	if (remote)
		metrics_add(METRIC_NP_SNAT, p->len);
	/* Reported with the client's address, before any SNAT. */
	host_emit(skb, p, EVENT_TRACE_TC_XLATE, 0, node_ip, nport, svc->rev_nat_id, backend_id);
	return np4_forward(skb, p, cfg, be, e.flags, e.snat_port);
}

SEC("tc")
int ebf_from_netdev(struct __sk_buff *skb)
{
	struct nodeport_config *cfg;
	struct pkt4 p = {};
	__u32 rev_nat_id = 0;
	__u16 port;
	int ret = pkt4_parse(skb, &p);

	/* Malformed traffic on the uplink is the stack's business, not ours. */
	if (ret <= 0 || !p.has_ports)
		return TC_ACT_OK;
	cfg = nodeport_config();
	if (!cfg || !cfg->node_ip || p.daddr != cfg->node_ip)
		return TC_ACT_OK;
	port = bpf_ntohs(p.dport);
	if (port >= cfg->port_min && port <= cfg->port_max)
		ret = __host_nodeport4(skb, &p, cfg, &rev_nat_id);
	else if (port >= cfg->snat_min && port <= cfg->snat_max)
		ret = np4_reply_snat(skb, &p, cfg);
	else
		return TC_ACT_OK;
	if (ret < 0)
		return host_drop(skb, &p, ret, rev_nat_id);
	if (ret == CTX_ACT_CONTINUE)
		return TC_ACT_OK;
	return ret;
}

SEC("tc")
int ebf_to_netdev(struct __sk_buff *skb)
{
	struct nodeport_config *cfg;
	struct pkt4 p = {};
	int ret = pkt4_parse(skb, &p);

	if (ret <= 0 || !p.has_ports)
		return TC_ACT_OK;
	cfg = nodeport_config();
	if (!cfg || !cfg->node_ip)
		return TC_ACT_OK;
	ret = np4_reply_local(skb, &p, cfg);
	if (ret < 0)
		return host_drop(skb, &p, ret, 0);
	return TC_ACT_OK;
}
