/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Flow events sent to the agent through one ring buffer. */
#ifndef EBF_EVENTS_H
#define EBF_EVENTS_H

#include "common.h"
#include "metrics.h"
#include "pkt.h"

#ifndef EVENTS_RING_SIZE
#define EVENTS_RING_SIZE (1 << 22)
#endif

#define EVENT_TRACE_SOCK_XLATE 1 /* socket-level service translation */
#define EVENT_TRACE_TC_XLATE   2 /* tc-level service translation of a new flow */
#define EVENT_DROP             3 /* packet or connection refused; reason says why */
#define EVENT_TRACE_POLICY     4 /* new connection seen by policy; verdict says how */

/* Entries of ebf_events_cfg_v1, one per EVENT_* type. */
#define EVENT_TYPES_MAX 8
/* Sampling period of a trace type: 0 or 1 = every event, N = about 1 in N,
 * EVENT_SAMPLE_OFF = none. EVENT_DROP ignores it: drops (policy denials
 * included) are always emitted. */
#define EVENT_SAMPLE_OFF 0xffffffff
/* A trace event not emitted because its type is sampled or off. Counted
 * here, next to the knob, so emitted + skipped + lost adds up; an index
 * free in metrics.h (whose counters stay below 128). */
#define METRIC_EVENTS_SAMPLED_OUT 64

#define EVENT_DIR_EGRESS  0 /* leaving the pod */
#define EVENT_DIR_INGRESS 1 /* entering the pod */

struct flow_event {
	__u64 ts_ns;        /* bpf_ktime_get_ns at emission */
	__u8 type;          /* EVENT_* */
	__u8 dir;           /* EVENT_DIR_* */
	__u8 proto;         /* IPPROTO_* */
	__u8 tcp_flags;     /* flags of the packet (tc path only) */
	__s32 reason;       /* DROP_* for drops, 0 otherwise */
	__u32 ifindex;      /* host-side interface (tc) or 0 (socket) */
	__u32 rev_nat_id;   /* service id, 0 if none */
	__u32 backend_id;   /* chosen backend, 0 if none */
	__be32 saddr;
	__be32 daddr;       /* destination after translation */
	__be32 orig_daddr;  /* destination before translation (the VIP) */
	__be16 sport;
	__be16 dport;
	__be16 orig_dport;
	__u8 verdict;       /* POLICY_VERDICT_* for policy events and drops */
	__u8 pad;
	__u64 cookie;       /* socket cookie (socket path) or 0 */
	__u32 src_identity; /* security identity of the source, 0 if unknown */
	__u32 dst_identity; /* security identity of the destination, 0 if unknown */
};

// Flow events for the agent; size is a power of two pages, overridable.
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, EVENTS_RING_SIZE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ebf_events_v1 SEC(".maps");

// Trace sampling per event type (index EVENT_*), written by the agent; a
// fresh map is all zeroes, i.e. every event emitted.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, EVENT_TYPES_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ebf_events_cfg_v1 SEC(".maps");

/* event_sampled_out says whether this trace event is to be skipped (and
 * counts it); drops never are. */
static __always_inline int event_sampled_out(__u8 type)
{
	__u32 key = type;
	__u32 *period;

	if (type == EVENT_DROP)
		return 0;
	period = bpf_map_lookup_elem(&ebf_events_cfg_v1, &key);
	if (!period || *period <= 1)
		return 0;
	if (*period != EVENT_SAMPLE_OFF && bpf_get_prandom_u32() % *period == 0)
		return 0;
	metrics_add(METRIC_EVENTS_SAMPLED_OUT, 0);
	return 1;
}

/* event_reserve returns a zeroed record, or NULL when the type is sampled
 * out (counted as skipped) or the ring is full (counted as lost). */
static __always_inline struct flow_event *event_reserve(__u8 type)
{
	struct flow_event *e;

	if (event_sampled_out(type))
		return NULL;
	e = bpf_ringbuf_reserve(&ebf_events_v1, sizeof(*e), 0);

	if (!e) {
		metrics_add(METRIC_EVENTS_LOST, 0);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->type = type;
	return e;
}

/* Reserves an event about packet p seen on skb's interface and fills what
 * every tc program reports (direction, 5-tuple, flags, reason, translation);
 * the caller adds identities/verdict and submits. NULL: ring full or sampled out. */
static __always_inline struct flow_event *pkt_event_reserve(struct __sk_buff *skb, const struct pkt4 *p, __u8 type,
							    __u8 dir, int reason, __be32 orig_daddr,
							    __be16 orig_dport, __u32 rev_nat_id, __u32 backend_id)
{
	struct flow_event *e = event_reserve(type);

	if (!e)
		return NULL;
	e->dir = dir;
	e->proto = p->proto;
	e->tcp_flags = p->tcp_flags;
	e->reason = reason;
	e->ifindex = skb->ifindex;
	e->rev_nat_id = rev_nat_id;
	e->backend_id = backend_id;
	e->saddr = p->saddr;
	e->daddr = p->daddr;
	e->sport = p->sport;
	e->dport = p->dport;
	e->orig_daddr = orig_daddr;
	e->orig_dport = orig_dport;
	return e;
}

/* Not inlined on purpose: as a subprogram its argument type puts struct
 * flow_event into the object's BTF, where the agent's decoder checks it. */
static __attribute__((noinline)) void event_submit(struct flow_event *e)
{
	bpf_ringbuf_submit(e, 0);
}

#endif /* EBF_EVENTS_H */
