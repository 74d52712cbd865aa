// Test-only BPF object for the native addon's integration tests: one map of
// each kind the addon handles specially, a tc counter that also emits ring
// buffer records, and a trivial cgroup/connect4 program. Not part of the
// dataplane.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

// Layout probed by the BTF struct query test (padding, array, nested struct).
struct ebft_inner {
	__u32 x[3];
};

struct ebft_value {
	__u32 a;
	__u16 b;
	__u8 pad[2];
	__u64 c;
	struct ebft_inner inner;
};

// Plain hash: element, iteration and batch operations.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct ebft_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ebft_hash SEC(".maps");

// LRU hash: same operations on the LRU implementation.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ebft_lru SEC(".maps");

// Per-CPU packet counter at index 0, bumped by ebft_tc_count.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ebft_pcpu SEC(".maps");

// One record per packet seen by ebft_tc_count: its length.
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ebft_events SEC(".maps");

struct ebft_event {
	__u32 len;
	__u32 ifindex;
};

SEC("tc")
int ebft_tc_count(struct __sk_buff *skb)
{
	__u32 zero = 0;
	__u64 *cnt = bpf_map_lookup_elem(&ebft_pcpu, &zero);
	struct ebft_event *ev;

	if (cnt)
		*cnt += 1;
	ev = bpf_ringbuf_reserve(&ebft_events, sizeof(*ev), 0);
	if (ev) {
		ev->len = skb->len;
		ev->ifindex = skb->ifindex;
		bpf_ringbuf_submit(ev, 0);
	}
	return TC_ACT_OK;
}

SEC("cgroup/connect4")
int ebft_connect4(struct bpf_sock_addr *ctx)
{
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
