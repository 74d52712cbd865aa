/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* IPv4 packet parsing and rewriting for tc programs: header offsets, NAT
 * of one address+port with checksum fix-ups, and turning a packet into an
 * ICMP port-unreachable reply. */
#ifndef EBF_PKT_H
#define EBF_PKT_H

#include "common.h"

#define ETH_HLEN_ 14
#define IP_OFF ETH_HLEN_
#define IP_DADDR_OFF (IP_OFF + 16)
#define IP_SADDR_OFF (IP_OFF + 12)
#define IP_CSUM_OFF  (IP_OFF + 10)

struct pkt4 {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 tcp_flags;
	__u16 l4_off;   /* from the start of the frame */
	__u32 len;      /* skb->len */
	__u8 has_ports; /* TCP/UDP/SCTP first fragment */
};

/* pkt4_parse fills p for IPv4; returns 1 for IPv4, 0 for other traffic to
 * pass, DROP_INVALID for truncated headers. */
static __always_inline int pkt4_parse(struct __sk_buff *skb, struct pkt4 *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__u32 ihl;

	if ((void *)(eth + 1) > data_end)
		return 0;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return DROP_INVALID;
	ihl = ip->ihl * 4;
	if (ihl < sizeof(*ip))
		return DROP_INVALID;
	p->saddr = ip->saddr;
	p->daddr = ip->daddr;
	p->proto = ip->protocol;
	p->l4_off = ETH_HLEN_ + ihl;
	p->len = skb->len;
	p->has_ports = 0;
	p->tcp_flags = 0;
	p->sport = 0;
	p->dport = 0;
	/* Later fragments carry no ports: leave them to the stack. */
	if (ip->frag_off & bpf_htons(0x1fff))
		return 1;
	if (p->proto == IPPROTO_TCP) {
		/* Copy instead of direct access: the L4 offset depends on ihl
		 * and the verifier loses the range check through it. */
		__u8 th[14];

		if (bpf_skb_load_bytes(skb, p->l4_off, th, sizeof(th)) < 0)
			return DROP_INVALID;
		__builtin_memcpy(&p->sport, &th[0], 2);
		__builtin_memcpy(&p->dport, &th[2], 2);
		p->tcp_flags = th[13];
		p->has_ports = 1;
	} else if (p->proto == IPPROTO_UDP || p->proto == IPPROTO_SCTP) {
		/* UDP and SCTP both start with source and destination port. */
		__be16 ports[2];

		if (bpf_skb_load_bytes(skb, p->l4_off, ports, sizeof(ports)) < 0)
			return DROP_INVALID;
		p->sport = ports[0];
		p->dport = ports[1];
		p->has_ports = 1;
	}
	return 1;
}

static __always_inline int pkt4_l4_csum_off(const struct pkt4 *p)
{
	if (p->proto == IPPROTO_TCP)
		return p->l4_off + 16;
	if (p->proto == IPPROTO_UDP)
		return p->l4_off + 6;
	return -1; /* SCTP: CRC32c over the whole packet, see __pkt4_rewrite */
}

/* __pkt4_rewrite replaces one address (at addr_off) and one port (at
 * port_off) and fixes the IPv4 and L4 checksums. */
static __always_inline int __pkt4_rewrite(struct __sk_buff *skb, const struct pkt4 *p,
					  int addr_off, __be32 old_addr, __be32 new_addr,
					  int port_off, __be16 old_port, __be16 new_port)
{
	int csum_off = pkt4_l4_csum_off(p);
	__u64 l4flags = BPF_F_PSEUDO_HDR;

	if (p->proto == IPPROTO_SCTP)
		return DROP_UNSUPP_L4; /* SCTP CRC32c cannot be updated incrementally */
	if (p->proto == IPPROTO_UDP) {
		__sum16 ucsum;

		if (bpf_skb_load_bytes(skb, csum_off, &ucsum, sizeof(ucsum)) < 0)
			return DROP_INVALID;
		/* A zero UDP checksum means "none": keep it that way. */
		if (ucsum == 0)
			csum_off = -1;
		l4flags |= BPF_F_MARK_MANGLED_0;
	}
	if (old_addr != new_addr) {
		if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_addr, new_addr, 4) < 0)
			return DROP_CSUM;
		if (csum_off >= 0 &&
		    bpf_l4_csum_replace(skb, csum_off, old_addr, new_addr, l4flags | 4) < 0)
			return DROP_CSUM;
		if (bpf_skb_store_bytes(skb, addr_off, &new_addr, 4, 0) < 0)
			return DROP_CSUM;
	}
	if (old_port != new_port) {
		if (csum_off >= 0 &&
		    bpf_l4_csum_replace(skb, csum_off, old_port, new_port,
					(l4flags & BPF_F_MARK_MANGLED_0) | 2) < 0)
			return DROP_CSUM;
		if (bpf_skb_store_bytes(skb, port_off, &new_port, 2, 0) < 0)
			return DROP_CSUM;
	}
	return 0;
}

/* pkt4_dnat rewrites the destination to addr:port. */
static __always_inline int pkt4_dnat(struct __sk_buff *skb, struct pkt4 *p, __be32 addr, __be16 port)
{
	int ret = __pkt4_rewrite(skb, p, IP_DADDR_OFF, p->daddr, addr,
				 p->l4_off + 2, p->dport, port);

	if (!ret) {
		p->daddr = addr;
		p->dport = port;
	}
	return ret;
}

/* pkt4_snat rewrites the source to addr:port (reverse NAT of replies). */
static __always_inline int pkt4_snat(struct __sk_buff *skb, struct pkt4 *p, __be32 addr, __be16 port)
{
	int ret = __pkt4_rewrite(skb, p, IP_SADDR_OFF, p->saddr, addr,
				 p->l4_off, p->sport, port);

	if (!ret) {
		p->saddr = addr;
		p->sport = port;
	}
	return ret;
}

static __always_inline __u16 csum_fold32(__u32 csum)
{
	csum = (csum & 0xffff) + (csum >> 16);
	csum = (csum & 0xffff) + (csum >> 16);
	return (__u16)~csum;
}

/* linux/icmp.h drags in libc socket headers, so the 8-byte header is here. */
#define ICMP_DEST_UNREACH 3
#define ICMP_PORT_UNREACH 3
struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be32 unused;
};

struct icmp4_reply {
	struct ethhdr eth;
	struct iphdr ip;
	struct icmphdr icmp;
	struct iphdr orig_ip;
	__u8 orig_l4[8];
} __attribute__((packed));

/* pkt4_to_icmp_unreach turns the packet into an ICMP port unreachable from
 * the original destination back to the sender (the same-length rewrite
 * the kernel maps to ECONNREFUSED for TCP and UDP). The caller redirects
 * it back out of the interface it came in on. Requires a 20-byte IPv4
 * header. */
static __always_inline int pkt4_to_icmp_unreach(struct __sk_buff *skb, const struct pkt4 *p)
{
	struct icmp4_reply r = {};
	__u32 csum;

	if (p->l4_off != ETH_HLEN_ + sizeof(struct iphdr))
		return DROP_ICMP_BUILD;
	if (bpf_skb_load_bytes(skb, 0, &r.eth, sizeof(r.eth)) < 0 ||
	    bpf_skb_load_bytes(skb, IP_OFF, &r.orig_ip, sizeof(r.orig_ip)) < 0 ||
	    bpf_skb_load_bytes(skb, p->l4_off, r.orig_l4, sizeof(r.orig_l4)) < 0)
		return DROP_ICMP_BUILD;
	{
		__u8 mac[ETH_ALEN];

		__builtin_memcpy(mac, r.eth.h_source, ETH_ALEN);
		__builtin_memcpy(r.eth.h_source, r.eth.h_dest, ETH_ALEN);
		__builtin_memcpy(r.eth.h_dest, mac, ETH_ALEN);
	}
	r.ip.version = 4;
	r.ip.ihl = 5;
	r.ip.tot_len = bpf_htons(sizeof(r) - sizeof(r.eth));
	r.ip.ttl = 64;
	r.ip.protocol = IPPROTO_ICMP;
	r.ip.saddr = p->daddr;
	r.ip.daddr = p->saddr;
	csum = bpf_csum_diff(0, 0, (__be32 *)((__u8 *)&r + sizeof(r.eth)), sizeof(r.ip), 0);
	r.ip.check = csum_fold32(csum);
	r.icmp.type = ICMP_DEST_UNREACH;
	r.icmp.code = ICMP_PORT_UNREACH;
	csum = bpf_csum_diff(0, 0, (__be32 *)((__u8 *)&r + sizeof(r.eth) + sizeof(r.ip)),
			     sizeof(r.icmp) + sizeof(r.orig_ip) + sizeof(r.orig_l4), 0);
	r.icmp.checksum = csum_fold32(csum);
	if (bpf_skb_change_tail(skb, sizeof(r), 0) < 0)
		return DROP_ICMP_BUILD;
	if (bpf_skb_store_bytes(skb, 0, &r, sizeof(r), 0) < 0)
		return DROP_ICMP_BUILD;
	return 0;
}

#endif /* EBF_PKT_H */
