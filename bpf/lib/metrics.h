/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Per-CPU packet/byte counters indexed by event kind or drop reason. */
#ifndef EBF_METRICS_H
#define EBF_METRICS_H

#include "common.h"

#ifndef METRICS_MAP_MAX
#define METRICS_MAP_MAX 256
#endif

/* Counter indices below 128; drop reasons use their absolute value. */
#define METRIC_SOCK_XLATE      1 /* socket-level connect/sendmsg translated to a backend */
#define METRIC_SOCK_NO_BACKEND 2 /* socket-level translation refused: no backend */
#define METRIC_TC_XLATE_NEW    3 /* tc path: new service flow translated */
#define METRIC_TC_XLATE        4 /* tc path: packet of a known service flow translated */
#define METRIC_TC_REV_NAT      5 /* tc path: reply packet reverse-translated */
#define METRIC_EVENTS_LOST     6 /* ring buffer full: event not emitted */
#define METRIC_SOCK_REV_XLATE  7 /* recvmsg/getpeername shown the VIP */
#define METRIC_NP_XLATE_NEW    8 /* uplink: new NodePort flow translated */
#define METRIC_NP_XLATE        9 /* uplink: packet of a known NodePort flow translated */
#define METRIC_NP_REV_NAT     10 /* uplink: NodePort reply restored to nodeIP:nodePort */
#define METRIC_NP_SNAT        11 /* uplink: new NodePort flow SNATed to a remote backend */

struct metrics_value {
	__u64 packets;
	__u64 bytes;
};

// Counters per CPU, summed by the agent; never shared between CPUs so no atomics.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct metrics_value);
	__uint(max_entries, METRICS_MAP_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ebf_metrics_v1 SEC(".maps");

static __always_inline void metrics_add(__u32 index, __u64 bytes)
{
	struct metrics_value *v = bpf_map_lookup_elem(&ebf_metrics_v1, &index);

	if (v) {
		v->packets++;
		v->bytes += bytes;
	}
}

static __always_inline void metrics_add_drop(int reason, __u64 bytes)
{
	metrics_add((__u32)(-reason), bytes);
}

#endif /* EBF_METRICS_H */
