/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* NodePort on the node's uplink (bpf_host.c): the node's NodePort config,
 * the NodePort NAT table, and the translation of traffic that reaches
 * <node IP>:<nodePort> from outside the node.
 *
 * Frontends: the uplink looks a NodePort up as the wildcard frontend
 * (0.0.0.0, nodePort, proto) in ebf_lb4_svc_v1, flagged SVC_F_NODEPORT.
 * Its backends are all of the Service's (externalTrafficPolicy Cluster) or
 * only those on this node (Local, SVC_F_LOCAL). In-cluster clients use the
 * exact (node IP, nodePort) frontends instead (socket and pod tc paths).
 *
 * Flows: a local backend is DNATed only (client address kept) and the
 * kernel routes it to the pod; its replies are restored to nodeIP:nodePort
 * on the uplink's egress. A remote backend is DNATed and SNATed to
 * nodeIP:<port from the SNAT range> and redirected out of the uplink
 * toward the backend's node; its replies come back to that port, are
 * restored to nodeIP:nodePort -> client and redirected to the client.
 * Both are redirected rather than handed to the stack because the
 * rewritten packet carries the node's own address as its source, which
 * the stack's input path drops as a martian. */
#ifndef EBF_NODEPORT_H
#define EBF_NODEPORT_H

#include "common.h"
#include "conntrack.h"
#include "lb.h"
#include "metrics.h"
#include "pkt.h"

#ifndef NODEPORT_NAT_MAP_MAX
#define NODEPORT_NAT_MAP_MAX 262144
#endif
/* Source ports tried for one new SNATed flow before giving up. */
#define NODEPORT_SNAT_TRIES 32

#ifndef AF_INET
#define AF_INET 2
#endif

/* ct4_tuple.flags in ebf_np4_nat_v1 (its own key space, not conntrack's). */
#define NP_TUPLE_F_REPLY 0x1 /* reply direction: backend -> client (local) or -> node (SNAT) */

/* np4_entry.flags; the first two are conntrack's CT_F_SEEN_REPLY and CT_F_CLOSING. */
#define NP_F_SNAT 0x4 /* remote backend: source rewritten to node IP:snat_port */

struct nodeport_config {
	__be32 node_ip;   /* this node's address on the uplink; 0 = NodePort off */
	__u16 port_min;   /* NodePort range, host order */
	__u16 port_max;
	__u16 snat_min;   /* SNAT source ports, host order; keep outside ip_local_port_range */
	__u16 snat_max;
	__u32 pad;
};

struct np4_entry {
	__u64 expires_ns;     /* bpf_ktime_get_ns deadline */
	__u64 packets;
	__u64 bytes;
	__u32 backend_id;
	__u32 rev_nat_id;     /* service id of the wildcard frontend */
	__be32 client_addr;   /* the external client */
	__be16 client_port;
	__be16 frontend_port; /* the nodePort */
	__be16 snat_port;     /* NP_F_SNAT: the node's source port toward the backend */
	__u8 tcp_flags_seen;
	__u8 flags;           /* CT_F_SEEN_REPLY | CT_F_CLOSING | NP_F_SNAT */
	__u32 pad;
};

// This node's NodePort settings, written by the agent when it attaches the uplink programs.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct nodeport_config);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ebf_np4_cfg_v1 SEC(".maps");

// NodePort flows: forward entries (client -> nodeIP:nodePort) pin the backend
// and SNAT port, reply entries restore the frontend; LRU evicts the oldest.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct ct4_tuple);
	__type(value, struct np4_entry);
	__uint(max_entries, NODEPORT_NAT_MAP_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ebf_np4_nat_v1 SEC(".maps");

static __always_inline struct nodeport_config *nodeport_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&ebf_np4_cfg_v1, &zero);
}

/* np4_lookup returns a live entry for tuple, or NULL (expired counts as absent). */
static __always_inline struct np4_entry *np4_lookup(const struct ct4_tuple *t)
{
	struct np4_entry *e = bpf_map_lookup_elem(&ebf_np4_nat_v1, t);

	if (e && e->expires_ns < bpf_ktime_get_ns())
		return NULL;
	return e;
}

/* np4_touch accounts one packet and extends the entry's lifetime. */
static __always_inline void np4_touch(struct np4_entry *e, __u8 proto, __u8 tcp_flags, __u32 len,
				      __u8 reply)
{
	__u8 flags = e->flags;

	if (reply)
		flags |= CT_F_SEEN_REPLY;
	if (tcp_flags & (0x01 | 0x04)) /* FIN | RST */
		flags |= CT_F_CLOSING;
	if (flags != e->flags)
		e->flags = flags;
	e->tcp_flags_seen |= tcp_flags;
	e->packets++;
	e->bytes += len;
	e->expires_ns = bpf_ktime_get_ns() + ct_lifetime(proto, tcp_flags, flags);
}

/* np4_touch_fwd marks the forward entry of a flow whose reply was seen, so
 * it gets the established lifetime, not the SYN one. */
static __always_inline void np4_touch_fwd(const struct nodeport_config *cfg, const struct np4_entry *r,
					  __u8 proto, __u8 tcp_flags)
{
	struct ct4_tuple fwd = {
		.daddr = cfg->node_ip,
		.saddr = r->client_addr,
		.dport = r->frontend_port,
		.sport = r->client_port,
		.nexthdr = proto,
	};
	struct np4_entry *e = np4_lookup(&fwd);

	if (e)
		np4_touch(e, proto, tcp_flags, 0, 1);
}

/* np4_fib looks up the route toward daddr as if forwarding a packet that
 * came in on the uplink. Returns a BPF_FIB_LKUP_RET_* code; fib->ifindex
 * is the egress device on success and on NO_NEIGH. */
static __always_inline int np4_fib(struct __sk_buff *skb, const struct pkt4 *p, __be32 saddr,
				   __be32 daddr, struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET;
	fib->l4_protocol = p->proto;
	fib->ifindex = skb->ifindex;
	fib->ipv4_src = saddr;
	fib->ipv4_dst = daddr;
	return (int)bpf_fib_lookup(skb, fib, sizeof(*fib), 0);
}

/* np4_redirect sends a rewritten packet (source: the node) out of the
 * device the FIB chooses for its destination, with the next hop's MAC
 * when the neighbour is known, else through the kernel's neighbour
 * resolution. Returns a tc action or DROP_FIB_LOOKUP. */
static __always_inline int np4_redirect(struct __sk_buff *skb, const struct pkt4 *p)
{
	struct bpf_fib_lookup fib;
	int rc = np4_fib(skb, p, p->saddr, p->daddr, &fib);

	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return (int)bpf_redirect_neigh(fib.ifindex, NULL, 0, 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return DROP_FIB_LOOKUP;
	if (bpf_skb_store_bytes(skb, 0, fib.dmac, ETH_ALEN, 0) < 0 ||
	    bpf_skb_store_bytes(skb, ETH_ALEN, fib.smac, ETH_ALEN, 0) < 0)
		return DROP_FIB_LOOKUP;
	return (int)bpf_redirect(fib.ifindex, 0);
}

/* np4_backend_is_remote tells whether the backend is reached back out of
 * the uplink (another node) or through this node (a pod veth, or the
 * node itself for a hostNetwork backend). Returns 1, 0 or DROP_FIB_LOOKUP. */
static __always_inline int np4_backend_is_remote(struct __sk_buff *skb, const struct pkt4 *p,
						 __be32 backend)
{
	struct bpf_fib_lookup fib;
	int rc = np4_fib(skb, p, p->saddr, backend, &fib);

	if (rc == BPF_FIB_LKUP_RET_NOT_FWDED)
		return 0; /* a local address: the node itself */
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return DROP_FIB_LOOKUP;
	return fib.ifindex == skb->ifindex;
}

/* np4_claim_snat inserts the reply entry of a new SNATed flow under a free
 * source port of the SNAT range, starting at a random one. The reply key
 * (backend -> node IP:port) is unique per port, so claiming is one
 * BPF_NOEXIST insert; an expired holder is overwritten. Returns the port
 * (network order) or DROP_SNAT_NO_PORT. */
static __always_inline int np4_claim_snat(const struct nodeport_config *cfg, struct ct4_tuple *rkey,
					  const struct np4_entry *val)
{
	__u32 min = cfg->snat_min, max = cfg->snat_max;
	__u32 range, off;
	__u64 now = bpf_ktime_get_ns();
	int i;

	if (min == 0 || max < min)
		return DROP_SNAT_NO_PORT;
	range = max - min + 1;
	off = bpf_get_prandom_u32() % range;
	for (i = 0; i < NODEPORT_SNAT_TRIES; i++) {
		__be16 port = bpf_htons((__u16)(min + (off + i) % range));
		struct np4_entry *old;

		rkey->dport = port;
		if (bpf_map_update_elem(&ebf_np4_nat_v1, rkey, val, BPF_NOEXIST) == 0)
			return port;
		old = bpf_map_lookup_elem(&ebf_np4_nat_v1, rkey);
		if (old && old->expires_ns < now &&
		    bpf_map_update_elem(&ebf_np4_nat_v1, rkey, val, BPF_EXIST) == 0)
			return port;
	}
	return DROP_SNAT_NO_PORT;
}

/* np4_create records a new NodePort flow: the reply entry (for SNAT under a
 * claimed port) and then the forward entry. Returns 0 or a DROP_* code. */
static __always_inline int np4_create(const struct nodeport_config *cfg, const struct pkt4 *p,
				      const struct ct4_tuple *fwd, const struct lb4_backend *be,
				      __u32 backend_id, __u32 rev_nat_id, __u8 snat,
				      struct np4_entry *out)
{
	struct ct4_tuple rkey = {
		.saddr = be->address,
		.sport = be->port,
		.nexthdr = p->proto,
		.flags = NP_TUPLE_F_REPLY,
	};
	struct np4_entry e = {
		.expires_ns = bpf_ktime_get_ns() + ct_lifetime(p->proto, p->tcp_flags, 0),
		.backend_id = backend_id,
		.rev_nat_id = rev_nat_id,
		.client_addr = p->saddr,
		.client_port = p->sport,
		.frontend_port = p->dport,
		.tcp_flags_seen = p->tcp_flags,
	};
	int ret;

	if (snat) {
		e.flags = NP_F_SNAT;
		rkey.daddr = cfg->node_ip;
		ret = np4_claim_snat(cfg, &rkey, &e);
		if (ret < 0)
			return ret;
		e.snat_port = (__be16)ret;
	} else {
		rkey.daddr = p->saddr;
		rkey.dport = p->sport;
		if (bpf_map_update_elem(&ebf_np4_nat_v1, &rkey, &e, BPF_ANY) < 0)
			return DROP_CT_CREATE;
	}
	e.packets = 1;
	e.bytes = p->len;
	if (bpf_map_update_elem(&ebf_np4_nat_v1, fwd, &e, BPF_ANY) < 0) {
		bpf_map_delete_elem(&ebf_np4_nat_v1, &rkey);
		return DROP_CT_CREATE;
	}
	*out = e;
	return 0;
}

/* np4_forward translates a packet of a known flow toward its backend:
 * DNAT, and for remote backends SNAT plus redirect. Returns TC_ACT_OK for
 * local delivery by the stack, a redirect action, or a DROP_* code. */
static __always_inline int np4_forward(struct __sk_buff *skb, struct pkt4 *p,
				       const struct nodeport_config *cfg,
				       const struct lb4_backend *be, __u8 flags, __be16 snat_port)
{
	int ret = pkt4_dnat(skb, p, be->address, be->port);

	if (ret < 0)
		return ret;
	if (!(flags & NP_F_SNAT))
		return TC_ACT_OK;
	ret = pkt4_snat(skb, p, cfg->node_ip, snat_port);
	if (ret < 0)
		return ret;
	return np4_redirect(skb, p);
}

/* The NodePort entry a packet is the reply of (keyed by its own tuple in
 * the reply scope), or NULL. */
static __always_inline struct np4_entry *np4_reply_entry(const struct pkt4 *p)
{
	struct ct4_tuple key = {
		.daddr = p->daddr,
		.saddr = p->saddr,
		.dport = p->dport,
		.sport = p->sport,
		.nexthdr = p->proto,
		.flags = NP_TUPLE_F_REPLY,
	};

	return np4_lookup(&key);
}

/* np4_reply_snat restores a reply from a remote backend (backend -> node
 * IP:snat port) to nodeIP:nodePort -> client and sends it to the client.
 * Returns CTX_ACT_CONTINUE when the packet is not such a reply. */
static __always_inline int np4_reply_snat(struct __sk_buff *skb, struct pkt4 *p,
					  const struct nodeport_config *cfg)
{
	struct np4_entry *e = np4_reply_entry(p);
	__be32 client;
	__be16 cport, fport;
	int ret;

	if (!e || !(e->flags & NP_F_SNAT))
		return CTX_ACT_CONTINUE;
	np4_touch(e, p->proto, p->tcp_flags, p->len, 1);
	np4_touch_fwd(cfg, e, p->proto, p->tcp_flags);
	client = e->client_addr;
	cport = e->client_port;
	fport = e->frontend_port;
	ret = pkt4_dnat(skb, p, client, cport);
	if (ret < 0)
		return ret;
	ret = pkt4_snat(skb, p, cfg->node_ip, fport);
	if (ret < 0)
		return ret;
	metrics_add(METRIC_NP_REV_NAT, p->len);
	return np4_redirect(skb, p);
}

/* np4_reply_local restores nodeIP:nodePort as the source of a reply from
 * a local backend leaving through the uplink. Returns CTX_ACT_CONTINUE
 * (translated or not a NodePort reply) or a DROP_* code. */
static __always_inline int np4_reply_local(struct __sk_buff *skb, struct pkt4 *p,
					   const struct nodeport_config *cfg)
{
	struct np4_entry *e = np4_reply_entry(p);
	__be16 fport;

	if (!e || (e->flags & NP_F_SNAT))
		return CTX_ACT_CONTINUE;
	np4_touch(e, p->proto, p->tcp_flags, p->len, 1);
	np4_touch_fwd(cfg, e, p->proto, p->tcp_flags);
	fport = e->frontend_port;
	metrics_add(METRIC_NP_REV_NAT, p->len);
	return pkt4_snat(skb, p, cfg->node_ip, fport);
}

#endif /* EBF_NODEPORT_H */
