/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Socket-level Service load balancing, attached to the pods' cgroup v2
 * subtree: connect4/sendmsg4 send a ClusterIP:port straight to a backend,
 * recvmsg4/getpeername4 show the VIP back to the application. Socket hooks
 * fail open: anything unexpected leaves the address untouched. */
#include "lib/common.h"
#include "lib/lb.h"
#include "lib/events.h"
#include "lib/metrics.h"

#ifndef ECONNREFUSED
#define ECONNREFUSED 111
#endif

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline void sock4_emit(struct bpf_sock_addr *ctx, __u8 type, int reason,
				       __be32 vip, __be16 vport, __u32 rev_nat_id,
				       __u32 backend_id, __u64 cookie)
{
	struct flow_event *e = event_reserve(type);

	if (!e)
		return;
	e->dir = EVENT_DIR_EGRESS;
	e->proto = (__u8)ctx->protocol;
	e->reason = reason;
	e->rev_nat_id = rev_nat_id;
	e->backend_id = backend_id;
	e->orig_daddr = vip;
	e->orig_dport = vport;
	e->daddr = ctx->user_ip4;
	e->dport = (__be16)ctx->user_port;
	e->cookie = cookie;
	event_submit(e);
}

/* __sock4_xlate_fwd translates the destination of a connect or an
 * unconnected send. Returns 1 to let the call proceed, 0 to refuse it. */
static __always_inline int __sock4_xlate_fwd(struct bpf_sock_addr *ctx, const int is_connect)
{
	__be32 vip = ctx->user_ip4;
	__be16 vport = (__be16)ctx->user_port;
	__u8 proto = (__u8)ctx->protocol;
	struct lb4_service *svc;
	struct lb4_backend *be;
	struct lb4_rev_sock_key rkey = {};
	struct lb4_reverse_nat rval = {};
	__u32 backend_id;
	__u64 cookie;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_SCTP)
		return 1;
	/* 0.0.0.0 keys the uplink's NodePort frontends (lib/nodeport.h); a
	 * socket reaches a NodePort through a node IP frontend instead. */
	if (!vip)
		return 1;
	svc = lb4_lookup_service(vip, vport, proto);
	if (!svc)
		return 1;
	cookie = bpf_get_socket_cookie(ctx);
	backend_id = lb4_pick(vip, vport, proto, svc,
			      hash_3words((__u32)cookie, (__u32)(cookie >> 32), vip, 0),
			      bpf_get_netns_cookie(ctx), 1);
	be = backend_id ? lb4_lookup_backend(backend_id) : NULL;
	if (!be) {
		/* Refuse at once rather than let the connection time out. */
		metrics_add(METRIC_SOCK_NO_BACKEND, 0);
		sock4_emit(ctx, EVENT_DROP, DROP_NO_BACKEND, vip, vport, svc->rev_nat_id, 0, cookie);
		bpf_set_retval(-ECONNREFUSED);
		return 0;
	}
	ctx->user_ip4 = be->address;
	ctx->user_port = (__u32)be->port;

	rkey.cookie = cookie;
	rkey.address = be->address;
	rkey.port = be->port;
	rval.address = vip;
	rval.port = vport;
	bpf_map_update_elem(&ebf_lb4_rsk_v1, &rkey, &rval, BPF_ANY);

	metrics_add(METRIC_SOCK_XLATE, 0);
	/* One event per connection; unconnected UDP would emit per datagram. */
	if (is_connect)
		sock4_emit(ctx, EVENT_TRACE_SOCK_XLATE, 0, vip, vport, svc->rev_nat_id,
			   backend_id, cookie);
	return 1;
}

/* __sock4_xlate_rev shows the VIP instead of the backend to the app. */
static __always_inline void __sock4_xlate_rev(struct bpf_sock_addr *ctx)
{
	struct lb4_rev_sock_key key = {
		.cookie = bpf_get_socket_cookie(ctx),
		.address = ctx->user_ip4,
		.port = (__be16)ctx->user_port,
	};
	struct lb4_reverse_nat *rev = bpf_map_lookup_elem(&ebf_lb4_rsk_v1, &key);

	if (!rev)
		return;
	ctx->user_ip4 = rev->address;
	ctx->user_port = (__u32)rev->port;
	metrics_add(METRIC_SOCK_REV_XLATE, 0);
}

SEC("cgroup/connect4")
int ebf_sock4_connect(struct bpf_sock_addr *ctx)
{
	return __sock4_xlate_fwd(ctx, 1);
}

SEC("cgroup/sendmsg4")
int ebf_sock4_sendmsg(struct bpf_sock_addr *ctx)
{
	return __sock4_xlate_fwd(ctx, 0);
}

SEC("cgroup/recvmsg4")
int ebf_sock4_recvmsg(struct bpf_sock_addr *ctx)
{
	__sock4_xlate_rev(ctx);
	return 1;
}

SEC("cgroup/getpeername4")
int ebf_sock4_getpeername(struct bpf_sock_addr *ctx)
{
	__sock4_xlate_rev(ctx);
	return 1;
}
