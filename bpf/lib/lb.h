/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Service load balancing: the service, backend, reverse-NAT, affinity and
 * Maglev maps, and the lookup/selection logic shared by the socket hooks
 * (bpf_sock.c) and the tc programs (bpf_lxc.c). */
#ifndef EBF_LB_H
#define EBF_LB_H

#include "common.h"
#include "hash.h"

#ifndef LB_SERVICE_MAP_MAX
#define LB_SERVICE_MAP_MAX 65536
#endif
#ifndef LB_BACKEND_MAP_MAX
#define LB_BACKEND_MAP_MAX 65536
#endif
#ifndef LB_REV_NAT_MAP_MAX
#define LB_REV_NAT_MAP_MAX 65536
#endif
#ifndef LB_AFFINITY_MAP_MAX
#define LB_AFFINITY_MAP_MAX 65536
#endif
#ifndef LB_MAGLEV_MAP_MAX
#define LB_MAGLEV_MAP_MAX 1024
#endif
#ifndef LB_REV_SOCK_MAP_MAX
#define LB_REV_SOCK_MAP_MAX 262144
#endif
/* Maglev lookup table size per service: a prime, mirrored in src/dataplane/maglev.ts. */
#define LB_MAGLEV_M 1021

#define SVC_F_AFFINITY 0x1 /* sessionAffinity: ClientIP */
#define SVC_F_MAGLEV   0x2 /* Maglev consistent hashing instead of random */
#define SVC_F_NODEPORT 0x4 /* wildcard (0.0.0.0, nodePort) frontend used on the uplink */
#define SVC_F_LOCAL    0x8 /* with SVC_F_NODEPORT: externalTrafficPolicy Local (local backends, no SNAT) */

#define BE_F_TERMINATING 0x1 /* keeps existing flows, gets no new ones */

struct lb4_key {
	__be32 address;     /* service VIP */
	__be16 dport;       /* service port */
	__u16 backend_slot; /* 0: service header; 1..count: backend slots */
	__u8 proto;         /* IPPROTO_TCP / UDP / SCTP */
	__u8 pad[3];
};

struct lb4_service {
	__u32 backend_id;       /* slot > 0: backend id in this slot */
	__u32 rev_nat_id;       /* slot 0: service id (reverse NAT, Maglev, affinity) */
	__u32 affinity_timeout; /* slot 0: seconds, with SVC_F_AFFINITY */
	__u16 count;            /* slot 0: active backends (slots 1..count) */
	__u8 flags;             /* slot 0: SVC_F_* */
	__u8 pad;
};

struct lb4_backend {
	__be32 address;
	__be16 port;
	__u8 proto;
	__u8 flags;             /* BE_F_* */
};

struct lb4_reverse_nat {
	__be32 address;
	__be16 port;
	__u16 pad;
};

struct lb4_affinity_key {
	__u64 client_id;        /* netns cookie (socket path) or client IP (tc path) */
	__u32 rev_nat_id;
	__u8 netns;             /* 1 when client_id is a netns cookie */
	__u8 pad[3];
};

struct lb_affinity_val {
	__u64 last_used_ns;
	__u32 backend_id;
	__u32 pad;
};

struct lb_affinity_match {
	__u32 backend_id;
	__u32 rev_nat_id;
};

struct lb4_maglev {
	__u32 backend_ids[LB_MAGLEV_M];
};

struct lb4_rev_sock_key {
	__u64 cookie;           /* socket cookie */
	__be32 address;         /* backend the socket talks to */
	__be16 port;
	__u16 pad;
};

// Service frontends: slot 0 is the service header, slots 1..count its backends.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lb4_key);
	__type(value, struct lb4_service);
	__uint(max_entries, LB_SERVICE_MAP_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ebf_lb4_svc_v1 SEC(".maps");

// Backends by id; terminating ones stay here until their flows are gone.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct lb4_backend);
	__uint(max_entries, LB_BACKEND_MAP_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ebf_lb4_be_v1 SEC(".maps");

// Service id -> VIP:port, to restore the frontend on replies.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct lb4_reverse_nat);
	__uint(max_entries, LB_REV_NAT_MAP_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ebf_lb4_rnat_v1 SEC(".maps");

// sessionAffinity: ClientIP memory of the last backend per client and service.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct lb4_affinity_key);
	__type(value, struct lb_affinity_val);
	__uint(max_entries, LB_AFFINITY_MAP_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ebf_lb4_aff_v1 SEC(".maps");

// (backend, service) pairs still valid for affinity; guards against a
// remembered backend that left the service.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lb_affinity_match);
	__type(value, __u8);
	__uint(max_entries, LB_BACKEND_MAP_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ebf_lb_affm_v1 SEC(".maps");

// Maglev lookup tables for services that ask for consistent hashing.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct lb4_maglev);
	__uint(max_entries, LB_MAGLEV_MAP_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ebf_lb4_mag_v1 SEC(".maps");

// Socket-level reverse translation: (socket, backend) -> VIP shown to the app.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct lb4_rev_sock_key);
	__type(value, struct lb4_reverse_nat);
	__uint(max_entries, LB_REV_SOCK_MAP_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ebf_lb4_rsk_v1 SEC(".maps");

/* lb4_lookup_service returns the service header for VIP:port/proto or NULL. */
static __always_inline struct lb4_service *
lb4_lookup_service(__be32 vip, __be16 dport, __u8 proto)
{
	struct lb4_key key = {
		.address = vip,
		.dport = dport,
		.proto = proto,
	};

	return bpf_map_lookup_elem(&ebf_lb4_svc_v1, &key);
}

static __always_inline struct lb4_backend *lb4_lookup_backend(__u32 backend_id)
{
	return bpf_map_lookup_elem(&ebf_lb4_be_v1, &backend_id);
}

static __always_inline __u32 __lb4_slot_backend(__be32 vip, __be16 dport, __u8 proto, __u16 slot)
{
	struct lb4_key key = {
		.address = vip,
		.dport = dport,
		.backend_slot = slot,
		.proto = proto,
	};
	struct lb4_service *s = bpf_map_lookup_elem(&ebf_lb4_svc_v1, &key);

	return s ? s->backend_id : 0;
}

/* lb4_affinity_backend returns the remembered backend if it is still a
 * live, non-terminating member of the service and within the timeout. */
static __always_inline __u32
lb4_affinity_backend(const struct lb4_service *svc, __u64 client_id, __u8 netns)
{
	struct lb4_affinity_key key = {
		.client_id = client_id,
		.rev_nat_id = svc->rev_nat_id,
		.netns = netns,
	};
	struct lb_affinity_val *val;
	struct lb_affinity_match match = {};
	struct lb4_backend *be;
	__u64 now;

	val = bpf_map_lookup_elem(&ebf_lb4_aff_v1, &key);
	if (!val)
		return 0;
	now = bpf_ktime_get_ns();
	if (now - val->last_used_ns > (__u64)svc->affinity_timeout * 1000000000ULL)
		return 0;
	match.backend_id = val->backend_id;
	match.rev_nat_id = svc->rev_nat_id;
	if (!bpf_map_lookup_elem(&ebf_lb_affm_v1, &match))
		return 0;
	be = lb4_lookup_backend(val->backend_id);
	if (!be || (be->flags & BE_F_TERMINATING))
		return 0;
	val->last_used_ns = now;
	return val->backend_id;
}

static __always_inline void
lb4_affinity_update(const struct lb4_service *svc, __u64 client_id, __u8 netns, __u32 backend_id)
{
	struct lb4_affinity_key key = {
		.client_id = client_id,
		.rev_nat_id = svc->rev_nat_id,
		.netns = netns,
	};
	struct lb_affinity_val val = {
		.last_used_ns = bpf_ktime_get_ns(),
		.backend_id = backend_id,
	};

	bpf_map_update_elem(&ebf_lb4_aff_v1, &key, &val, BPF_ANY);
}

/* lb4_select_backend picks a backend id for a new flow: the Maglev table
 * slot of flow_hash for Maglev services, else a random active slot.
 * Returns 0 when the service has no active backend. */
static __always_inline __u32
lb4_select_backend(__be32 vip, __be16 dport, __u8 proto,
		   const struct lb4_service *svc, __u32 flow_hash)
{
	__u32 slot;

	if (svc->count == 0)
		return 0;
	if (svc->flags & SVC_F_MAGLEV) {
		__u32 id = svc->rev_nat_id;
		struct lb4_maglev *tbl = bpf_map_lookup_elem(&ebf_lb4_mag_v1, &id);
		__u32 idx = flow_hash % LB_MAGLEV_M;

		/* Verifier workaround: it does not bound a modulo result, so
		 * keep an explicit check the compiler cannot drop. */
		barrier_var(idx);
		if (tbl && idx < LB_MAGLEV_M)
			return tbl->backend_ids[idx];
		/* Table not written yet: fall back to random so traffic flows. */
	}
	slot = (bpf_get_prandom_u32() % svc->count) + 1;
	return __lb4_slot_backend(vip, dport, proto, (__u16)slot);
}

/* lb4_pick combines affinity and selection for one new flow. */
static __always_inline __u32
lb4_pick(__be32 vip, __be16 dport, __u8 proto, const struct lb4_service *svc,
	 __u32 flow_hash, __u64 client_id, __u8 netns)
{
	__u32 backend_id = 0;

	if (svc->flags & SVC_F_AFFINITY)
		backend_id = lb4_affinity_backend(svc, client_id, netns);
	if (!backend_id) {
		backend_id = lb4_select_backend(vip, dport, proto, svc, flow_hash);
		if (backend_id && (svc->flags & SVC_F_AFFINITY))
			lb4_affinity_update(svc, client_id, netns, backend_id);
	}
	return backend_id;
}

#endif /* EBF_LB_H */
