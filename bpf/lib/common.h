/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Shared includes, attributes, tunables and drop reasons for every ebbflow
 * BPF object. Struct layouts shared with TypeScript live in the headers of
 * the subsystem that owns them and are mirrored by src/dataplane encoders,
 * which are checked against this object's BTF at load. */
#ifndef EBF_COMMON_H
#define EBF_COMMON_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* barrier_var (bpf_helpers.h) hides a value from the compiler so a bounds
 * check it could prove stays in the program for the verifier to see. */

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif

/* Verdicts of the pipeline helpers: a helper returns CTX_ACT_CONTINUE to
 * let the next stage run, or a DROP_* code (negative) that the program's
 * edge turns into a drop plus a drop event. */
#define CTX_ACT_CONTINUE 0

/* Named drop reasons; the metrics map is indexed by their absolute value. */
#define DROP_INVALID        -130 /* malformed or truncated packet */
#define DROP_NO_SERVICE     -131 /* reserved: VIP without a service entry */
#define DROP_NO_BACKEND     -132 /* service has no active backend */
#define DROP_CT_CREATE      -133 /* conntrack table insert failed */
#define DROP_CSUM           -134 /* checksum rewrite failed */
#define DROP_UNSUPP_L4      -135 /* protocol the service path cannot translate */
#define DROP_BACKEND_GONE   -136 /* conntrack points at a deleted backend */
#define DROP_ICMP_BUILD     -137 /* could not turn the packet into an ICMP error */
#define DROP_POLICY_DENIED  -140 /* NetworkPolicy does not allow the connection */
#define DROP_NO_LOCAL_BACKEND -141 /* NodePort with externalTrafficPolicy Local: no backend on this node */
#define DROP_FIB_LOOKUP     -142 /* no route toward a NodePort backend or client */
#define DROP_SNAT_NO_PORT   -143 /* NodePort SNAT: no free source port toward the backend */

#endif /* EBF_COMMON_H */
