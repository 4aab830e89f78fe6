/* sha256.h: SHA-256 (FIPS 180-4), for the installer's proof of the original sendmail. */
#ifndef QWRAP_SHA256_H
#define QWRAP_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t len;		/* bytes hashed so far */
	unsigned char buf[64];
	size_t nbuf;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *p, size_t n);
/* Writes the digest as 64 lower-case hex digits and a NUL. */
void sha256_hex(struct sha256 *s, char out[65]);

/* The hex digest of the file open on FD (read from its current offset); -1 on a read error. */
int sha256_fd(int fd, char out[65]);

#endif
