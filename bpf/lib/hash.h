/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Flow hashing for backend selection (Maglev slot choice). A Jenkins-style
 * mix of three words; the TS side never needs to reproduce it. */
#ifndef EBF_HASH_H
#define EBF_HASH_H

#include "common.h"

static __always_inline __u32 hash_rol32(__u32 w, unsigned int s)
{
	return (w << s) | (w >> ((-s) & 31));
}

/* hash_3words mixes a, b, c with a seed (Bob Jenkins' final mix). */
static __always_inline __u32 hash_3words(__u32 a, __u32 b, __u32 c, __u32 seed)
{
	a += 0xdeadbeef + seed;
	b += 0xdeadbeef + seed;
	c += 0xdeadbeef + seed;
	c ^= b; c -= hash_rol32(b, 14);
	a ^= c; a -= hash_rol32(c, 11);
	b ^= a; b -= hash_rol32(a, 25);
	c ^= b; c -= hash_rol32(b, 16);
	a ^= c; a -= hash_rol32(c, 4);
	b ^= a; b -= hash_rol32(a, 14);
	c ^= b; c -= hash_rol32(b, 24);
	return c;
}

#endif /* EBF_HASH_H */
