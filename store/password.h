/* Password hashing over libxcrypt (crypt_gensalt_rn, crypt_rn).
 *
 * New hashes are yescrypt ("$y$", libxcrypt's default cost). Any hash that
 * libxcrypt understands verifies (bcrypt, sha512-crypt, Dovecot {CRYPT} and
 * /etc/shadow imports). Every call is slow by design (~20 ms, 16 MiB of
 * scratch memory for yescrypt) and thread-safe: the 32 KiB struct
 * crypt_data is heap-allocated per call. Never call these on an event-loop
 * thread. No function keeps or logs the clear-text password. */
#ifndef POSTLITE_PASSWORD_H
#define POSTLITE_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

/* Room for any hash password_hash writes (libxcrypt's CRYPT_OUTPUT_SIZE). */
#define PASSWORD_HASH_MAX 384

/* Longest password accepted, in bytes. Bounds the work a client can cause. */
#define PASSWORD_MAX 1024

/* True if pw may be stored: not empty, at most PASSWORD_MAX bytes, and no
 * CR, LF or NUL (it could not be typed at a POP3 or SMTP AUTH prompt). */
bool password_acceptable(const char *pw);

/* Hashes pw with a fresh random salt into out (outlen >= PASSWORD_HASH_MAX).
 * Returns 0, or -1 with errno set (EINVAL: pw not acceptable; ENOMEM;
 * ERANGE: out too small; or whatever libxcrypt reported). */
int password_hash(const char *pw, char *out, size_t outlen);

/* True if pw matches hash. False for a mismatch, an unusable hash (empty,
 * locked "!..." or "*..."), or a pw that is not acceptable — in every case
 * after doing the full hashing work, so the time taken does not tell which.
 * The final comparison is constant-time. */
bool password_verify(const char *pw, const char *hash);

/* True if hash should be replaced at the next successful login: anything
 * but yescrypt ("$y$"), or yescrypt cheaper than password_hash's default
 * (a smaller N or r). */
bool password_needs_rehash(const char *hash);

/* Checks a crypt(3) hash brought from elsewhere and copies it to out
 * (outlen >= PASSWORD_HASH_MAX): /etc/shadow style ("$6$...", "$y$...",
 * "$2b$...") or a Dovecot passwd-file password with its scheme prefix
 * ({CRYPT}, {BLF-CRYPT}, {SHA512-CRYPT}, {SHA256-CRYPT}, {MD5-CRYPT}),
 * which is dropped. Returns 0, or -1 (errno EINVAL) when libxcrypt cannot
 * verify against it (unknown method, locked "!"/"*" hash, other Dovecot
 * schemes such as {PLAIN} or {SSHA}). */
int password_hash_import(const char *in, char *out, size_t outlen);

/* Does the work of password_verify against a fixed dummy yescrypt hash and
 * returns nothing: for unknown users, so timing does not reveal whether an
 * account exists. */
void password_dummy_verify(const char *pw);

#endif
