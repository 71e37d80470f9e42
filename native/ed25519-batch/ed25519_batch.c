// Ed25519 signature verification under the cofactored rule (docs/PROTOCOL.md, "Transaction
// signatures"), one signature at a time or many in one multi-scalar multiplication (batch).
//
// The rule, per signature (R || S, public key A, message M):
//   S < L; A and R canonical encodings (y < p, no x = 0 with the sign bit set) of curve points;
//   neither A nor R of small order ([8]P = O); and [8]([S]B - R - [k]A) = O, k = SHA-512(R||A||M) mod L.
// A batch of n signatures holds iff [8]((sum z_i S_i) B - sum z_i R_i - sum (z_i k_i) A_i) = O with
// random 128-bit z_i (getrandom): true whenever every signature holds, false with probability
// >= 1 - 2^-128 otherwise. When it fails, every signature of the chunk is checked alone (z = 1), so
// each verdict is the rule's verdict.
//
// verifyTagged takes messages that are tagged hashes, SHA-256(32-byte tag prefix || bytes), and hashes
// them here: a verify worker hands over its message buffer with offsets and copies nothing.
//
// Written for this project from the specifications (RFC 8032, FIPS 180-4) and the textbook
// algorithms named where they are used. Variable time: it handles only public data.
// Field elements mod p = 2^255 - 19 in radix 2^51 (five 64-bit limbs, products in unsigned __int128);
// points in extended twisted-Edwards coordinates (Hisil-Wong-Carter-Dawson 2008, a = -1).
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/types.h>
#include <sys/random.h>

typedef unsigned __int128 u128;
typedef struct { uint64_t v[5]; } fe;

#include "consts.h"

#define M51 ((uint64_t)0x7ffffffffffff)

/* ---------- field arithmetic ---------- */

static inline void fe_copy(fe *h, const fe *f) { *h = *f; }
static inline void fe_0(fe *h) { memset(h, 0, sizeof *h); }
static inline void fe_1(fe *h) { memset(h, 0, sizeof *h); h->v[0] = 1; }

// limbs < 2^52 in, < 2^53 out: every caller passes reduced values (products or sums of two)
static inline void fe_add(fe *h, const fe *f, const fe *g) {
  for (int i = 0; i < 5; i++) h->v[i] = f->v[i] + g->v[i];
}

// f + 4p - g, carried: g's limbs must be below 2^53 - 76 (they are: see fe_add)
static inline void fe_sub(fe *h, const fe *f, const fe *g) {
  uint64_t h0 = f->v[0] + 0x1fffffffffffb4ULL - g->v[0];
  uint64_t h1 = f->v[1] + 0x1ffffffffffffcULL - g->v[1];
  uint64_t h2 = f->v[2] + 0x1ffffffffffffcULL - g->v[2];
  uint64_t h3 = f->v[3] + 0x1ffffffffffffcULL - g->v[3];
  uint64_t h4 = f->v[4] + 0x1ffffffffffffcULL - g->v[4];
  uint64_t c;
  c = h0 >> 51; h0 &= M51; h1 += c;
  c = h1 >> 51; h1 &= M51; h2 += c;
  c = h2 >> 51; h2 &= M51; h3 += c;
  c = h3 >> 51; h3 &= M51; h4 += c;
  c = h4 >> 51; h4 &= M51; h0 += 19 * c;
  h->v[0] = h0; h->v[1] = h1; h->v[2] = h2; h->v[3] = h3; h->v[4] = h4;
}

static inline void fe_neg(fe *h, const fe *f) {
  fe z;
  fe_0(&z);
  fe_sub(h, &z, f);
}

// carries of the five column sums (each < 2^116); out limbs < 2^51 + 2^21
static inline void fe_carry128(fe *h, u128 r0, u128 r1, u128 r2, u128 r3, u128 r4) {
  r1 += r0 >> 51;
  r2 += r1 >> 51;
  r3 += r2 >> 51;
  r4 += r3 >> 51;
  u128 c = (r4 >> 51) * 19 + ((uint64_t)r0 & M51);
  h->v[0] = (uint64_t)c & M51;
  h->v[1] = ((uint64_t)r1 & M51) + (uint64_t)(c >> 51);
  h->v[2] = (uint64_t)r2 & M51;
  h->v[3] = (uint64_t)r3 & M51;
  h->v[4] = (uint64_t)r4 & M51;
}

static inline void fe_mul(fe *h, const fe *f, const fe *g) {
  uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
  uint64_t g0 = g->v[0], g1 = g->v[1], g2 = g->v[2], g3 = g->v[3], g4 = g->v[4];
  uint64_t g1_19 = 19 * g1, g2_19 = 19 * g2, g3_19 = 19 * g3, g4_19 = 19 * g4;
  u128 r0 = (u128)f0 * g0 + (u128)f1 * g4_19 + (u128)f2 * g3_19 + (u128)f3 * g2_19 + (u128)f4 * g1_19;
  u128 r1 = (u128)f0 * g1 + (u128)f1 * g0 + (u128)f2 * g4_19 + (u128)f3 * g3_19 + (u128)f4 * g2_19;
  u128 r2 = (u128)f0 * g2 + (u128)f1 * g1 + (u128)f2 * g0 + (u128)f3 * g4_19 + (u128)f4 * g3_19;
  u128 r3 = (u128)f0 * g3 + (u128)f1 * g2 + (u128)f2 * g1 + (u128)f3 * g0 + (u128)f4 * g4_19;
  u128 r4 = (u128)f0 * g4 + (u128)f1 * g3 + (u128)f2 * g2 + (u128)f3 * g1 + (u128)f4 * g0;
  fe_carry128(h, r0, r1, r2, r3, r4);
}

static inline void fe_sq(fe *h, const fe *f) {
  uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
  uint64_t d0 = 2 * f0, d1 = 2 * f1, d2 = 2 * f2, d3 = 2 * f3;
  uint64_t f3_19 = 19 * f3, f4_19 = 19 * f4;
  u128 r0 = (u128)f0 * f0 + (u128)d1 * f4_19 + (u128)d2 * f3_19;
  u128 r1 = (u128)d0 * f1 + (u128)d2 * f4_19 + (u128)f3 * f3_19;
  u128 r2 = (u128)d0 * f2 + (u128)f1 * f1 + (u128)d3 * f4_19;
  u128 r3 = (u128)d0 * f3 + (u128)d1 * f2 + (u128)f4 * f4_19;
  u128 r4 = (u128)d0 * f4 + (u128)d1 * f3 + (u128)f2 * f2;
  fe_carry128(h, r0, r1, r2, r3, r4);
}

static void fe_sqn(fe *h, const fe *f, int n) {
  fe_sq(h, f);
  while (--n > 0) fe_sq(h, h);
}

static void fe_frombytes(fe *h, const uint8_t s[32]) {
  uint64_t w[4];
  for (int i = 0; i < 4; i++) {
    uint64_t x = 0;
    for (int j = 7; j >= 0; j--) x = (x << 8) | s[8 * i + j];
    w[i] = x;
  }
  h->v[0] = w[0] & M51;
  h->v[1] = ((w[0] >> 51) | (w[1] << 13)) & M51;
  h->v[2] = ((w[1] >> 38) | (w[2] << 26)) & M51;
  h->v[3] = ((w[2] >> 25) | (w[3] << 39)) & M51;
  h->v[4] = (w[3] >> 12) & M51; // bit 255 (the sign of x) is not part of y
}

// the canonical encoding: the unique representative in [0, p)
static void fe_tobytes(uint8_t s[32], const fe *f) {
  uint64_t h0 = f->v[0], h1 = f->v[1], h2 = f->v[2], h3 = f->v[3], h4 = f->v[4], c;
  for (int pass = 0; pass < 2; pass++) {
    c = h0 >> 51; h0 &= M51; h1 += c;
    c = h1 >> 51; h1 &= M51; h2 += c;
    c = h2 >> 51; h2 &= M51; h3 += c;
    c = h3 >> 51; h3 &= M51; h4 += c;
    c = h4 >> 51; h4 &= M51; h0 += 19 * c;
  }
  // now h < 2^255 + 19 < 2p: q = 1 iff h >= p (the carry out of h + 19)
  uint64_t q = (h0 + 19) >> 51;
  q = (h1 + q) >> 51;
  q = (h2 + q) >> 51;
  q = (h3 + q) >> 51;
  q = (h4 + q) >> 51;
  h0 += 19 * q; // h - q p = h + 19 q - q 2^255: the 2^255 bit is dropped below
  c = h0 >> 51; h0 &= M51; h1 += c;
  c = h1 >> 51; h1 &= M51; h2 += c;
  c = h2 >> 51; h2 &= M51; h3 += c;
  c = h3 >> 51; h3 &= M51; h4 += c;
  h4 &= M51;
  uint64_t w[4] = { h0 | (h1 << 51), (h1 >> 13) | (h2 << 38), (h2 >> 26) | (h3 << 25), (h3 >> 39) | (h4 << 12) };
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 8; j++) s[8 * i + j] = (uint8_t)(w[i] >> (8 * j));
}

static int fe_iszero(const fe *f) {
  uint8_t s[32];
  fe_tobytes(s, f);
  uint8_t a = 0;
  for (int i = 0; i < 32; i++) a |= s[i];
  return a == 0;
}

static int fe_isneg(const fe *f) {
  uint8_t s[32];
  fe_tobytes(s, f);
  return s[0] & 1;
}

static int fe_eq(const fe *f, const fe *g) {
  fe d;
  fe_sub(&d, f, g);
  return fe_iszero(&d);
}

// z^(2^250 - 1) and z^11: the common part of inversion and the square root's exponent
static void fe_pow250(fe *z250, fe *z11, const fe *z) {
  fe z2, z9, t, z5, z10, z20, z40, z50, z100;
  fe_sq(&z2, z);              // 2
  fe_sqn(&t, &z2, 2);         // 8
  fe_mul(&z9, &t, z);         // 9
  fe_mul(z11, &z9, &z2);      // 11
  fe_sq(&t, z11);             // 22
  fe_mul(&z5, &t, &z9);       // 31 = 2^5 - 1
  fe_sqn(&t, &z5, 5);
  fe_mul(&z10, &t, &z5);      // 2^10 - 1
  fe_sqn(&t, &z10, 10);
  fe_mul(&z20, &t, &z10);     // 2^20 - 1
  fe_sqn(&t, &z20, 20);
  fe_mul(&z40, &t, &z20);     // 2^40 - 1
  fe_sqn(&t, &z40, 10);
  fe_mul(&z50, &t, &z10);     // 2^50 - 1
  fe_sqn(&t, &z50, 50);
  fe_mul(&z100, &t, &z50);    // 2^100 - 1
  fe_sqn(&t, &z100, 100);
  fe_mul(&t, &t, &z100);      // 2^200 - 1
  fe_sqn(&t, &t, 50);
  fe_mul(z250, &t, &z50);     // 2^250 - 1
}

// z^((p-5)/8) = z^(2^252 - 3)
static void fe_pow22523(fe *h, const fe *z) {
  fe z250, z11, t;
  fe_pow250(&z250, &z11, z);
  fe_sqn(&t, &z250, 2);
  fe_mul(h, &t, z);
}

/* ---------- points ---------- */

typedef struct { fe X, Y, Z, T; } ge_p3;   // x = X/Z, y = Y/Z, xy = T/Z
typedef struct { fe X, Y, Z, T; } ge_p1p1; // completed: x = X/Z, y = Y/T
typedef struct { fe YpX, YmX, Z, T2d; } ge_cached;

static void ge_identity(ge_p3 *p) { fe_0(&p->X); fe_1(&p->Y); fe_1(&p->Z); fe_0(&p->T); }

static void ge_to_cached(ge_cached *c, const ge_p3 *p) {
  fe_add(&c->YpX, &p->Y, &p->X);
  fe_sub(&c->YmX, &p->Y, &p->X);
  fe_copy(&c->Z, &p->Z);
  fe_mul(&c->T2d, &p->T, &FE_D2);
}

static inline void ge_p1p1_to_p3(ge_p3 *r, const ge_p1p1 *p) {
  fe_mul(&r->X, &p->X, &p->T);
  fe_mul(&r->Y, &p->Y, &p->Z);
  fe_mul(&r->Z, &p->Z, &p->T);
  fe_mul(&r->T, &p->X, &p->Y);
}

// X, Y, Z only: enough for the next doubling
static inline void ge_p1p1_to_p2(ge_p3 *r, const ge_p1p1 *p) {
  fe_mul(&r->X, &p->X, &p->T);
  fe_mul(&r->Y, &p->Y, &p->Z);
  fe_mul(&r->Z, &p->Z, &p->T);
}

// r = p + q (unified, complete for a = -1 and non-square d)
static inline void ge_add(ge_p1p1 *r, const ge_p3 *p, const ge_cached *q) {
  fe a, b, c, d;
  fe_sub(&a, &p->Y, &p->X);
  fe_mul(&a, &a, &q->YmX);
  fe_add(&b, &p->Y, &p->X);
  fe_mul(&b, &b, &q->YpX);
  fe_mul(&c, &p->T, &q->T2d);
  fe_mul(&d, &p->Z, &q->Z);
  fe_add(&d, &d, &d);
  fe_sub(&r->X, &b, &a);
  fe_add(&r->Y, &b, &a);
  fe_add(&r->Z, &d, &c);
  fe_sub(&r->T, &d, &c);
}

// r = p - q: q negated is (YmX, YpX, Z, -T2d)
static inline void ge_sub(ge_p1p1 *r, const ge_p3 *p, const ge_cached *q) {
  fe a, b, c, d;
  fe_sub(&a, &p->Y, &p->X);
  fe_mul(&a, &a, &q->YpX);
  fe_add(&b, &p->Y, &p->X);
  fe_mul(&b, &b, &q->YmX);
  fe_mul(&c, &p->T, &q->T2d);
  fe_mul(&d, &p->Z, &q->Z);
  fe_add(&d, &d, &d);
  fe_sub(&r->X, &b, &a);
  fe_add(&r->Y, &b, &a);
  fe_sub(&r->Z, &d, &c);
  fe_add(&r->T, &d, &c);
}

// r = 2p, reading only X, Y, Z (every coordinate of the result negated: the same point)
static inline void ge_dbl(ge_p1p1 *r, const ge_p3 *p) {
  fe xx, yy, zz2, s;
  fe_sq(&xx, &p->X);
  fe_sq(&yy, &p->Y);
  fe_sq(&zz2, &p->Z);
  fe_add(&zz2, &zz2, &zz2);
  fe_add(&s, &p->X, &p->Y);
  fe_sq(&s, &s);
  fe_add(&r->Y, &yy, &xx);     // -H
  fe_sub(&r->Z, &yy, &xx);     // G
  fe_sub(&r->X, &s, &r->Y);    // E = 2XY
  fe_sub(&r->T, &zz2, &r->Z);  // -F
}

// X = 0 and Y = Z: the neutral element
static int ge_is_identity(const ge_p3 *p) {
  return fe_iszero(&p->X) && fe_eq(&p->Y, &p->Z);
}

static void ge_mul8(ge_p3 *r, const ge_p3 *p) {
  ge_p1p1 t;
  ge_dbl(&t, p);
  ge_p1p1_to_p2(r, &t);
  ge_dbl(&t, r);
  ge_p1p1_to_p2(r, &t);
  ge_dbl(&t, r);
  ge_p1p1_to_p3(r, &t);
}

// Small order ([8]P = O) for a point decoded from the canonical encoding s: its y is one of the five
// y values of the torsion subgroup (consts.h), whatever the sign of x. A table lookup instead of three
// doublings; the tests check all eight torsion points as A and as R.
static int enc_is_small_order(const uint8_t s[32]) {
  for (int i = 0; i < 5; i++) {
    if (memcmp(s, SMALL_ORDER_Y[i], 31) == 0 && (s[31] & 0x7f) == SMALL_ORDER_Y[i][31]) return 1;
  }
  return 0;
}

// Decodes a canonical encoding (RFC 8032 5.1.3, strict: y < p, and x = 0 with the sign bit set is
// refused) into the point's NEGATION (what the verification equation subtracts). 0 on success.
static int ge_decode_neg(ge_p3 *p, const uint8_t s[32]) {
  fe y, u, v, v3, x, vxx, t;
  uint8_t back[32];
  fe_frombytes(&y, s);
  fe_tobytes(back, &y);
  if (memcmp(back, s, 31) != 0 || back[31] != (s[31] & 0x7f)) return -1; // y >= p
  fe_sq(&u, &y);
  fe_mul(&v, &u, &FE_D);
  fe_1(&t);
  fe_sub(&u, &u, &t);          // u = y^2 - 1
  fe_add(&v, &v, &t);          // v = d y^2 + 1
  fe_sq(&v3, &v);
  fe_mul(&v3, &v3, &v);        // v^3
  fe_sq(&x, &v3);
  fe_mul(&x, &x, &v);
  fe_mul(&x, &x, &u);          // u v^7
  fe_pow22523(&x, &x);         // (u v^7)^((p-5)/8)
  fe_mul(&x, &x, &v3);
  fe_mul(&x, &x, &u);          // candidate root of u/v
  fe_sq(&vxx, &x);
  fe_mul(&vxx, &vxx, &v);
  if (!fe_eq(&vxx, &u)) {
    fe_neg(&t, &u);
    if (!fe_eq(&vxx, &t)) return -1; // not on the curve
    fe_mul(&x, &x, &FE_SQRTM1);
  }
  int sign = s[31] >> 7;
  if (fe_iszero(&x) && sign) return -1;
  if (fe_isneg(&x) == sign) fe_neg(&x, &x); // the negation: x of the opposite sign
  fe_copy(&p->X, &x);
  fe_copy(&p->Y, &y);
  fe_1(&p->Z);
  fe_mul(&p->T, &x, &y);
  return 0;
}

/* ---------- scalars mod L = 2^252 + 27742317777372353535851937790883648493 ---------- */

// r[0, na + nb) = a * b
static void mp_mul(uint64_t *r, const uint64_t *a, int na, const uint64_t *b, int nb) {
  memset(r, 0, sizeof(uint64_t) * (size_t)(na + nb));
  for (int i = 0; i < na; i++) {
    uint64_t carry = 0;
    for (int j = 0; j < nb; j++) {
      u128 t = (u128)a[i] * b[j] + r[i + j] + carry;
      r[i + j] = (uint64_t)t;
      carry = (uint64_t)(t >> 64);
    }
    r[i + nb] = carry;
  }
}

// a >= b over n limbs
static int mp_geq(const uint64_t *a, const uint64_t *b, int n) {
  for (int i = n - 1; i >= 0; i--) {
    if (a[i] != b[i]) return a[i] > b[i];
  }
  return 1;
}

// a -= b over n limbs (mod 2^(64 n))
static void mp_sub(uint64_t *a, const uint64_t *b, int n) {
  uint64_t borrow = 0;
  for (int i = 0; i < n; i++) {
    u128 t = (u128)a[i] - b[i] - borrow;
    a[i] = (uint64_t)t;
    borrow = (uint64_t)(t >> 64) & 1;
  }
}

// r = x mod L for x < 2^512 (Barrett reduction, Handbook of Applied Cryptography 14.42, base 2^64,
// k = 4, mu = floor(2^512 / L))
static void sc_reduce512(uint64_t r[4], const uint64_t x[8]) {
  uint64_t q2[10], lq[9], rr[5];
  mp_mul(q2, x + 3, 5, SC_MU, 5);         // q1 * mu, q1 = x / 2^192
  mp_mul(lq, q2 + 5, 5, SC_L, 4);          // q3 * L, q3 = q2 / 2^320 (low 5 limbs used)
  memcpy(rr, x, 5 * sizeof(uint64_t));     // x mod 2^320
  mp_sub(rr, lq, 5);                       // x - q3 L, in [0, 3L)
  uint64_t L5[5] = { SC_L[0], SC_L[1], SC_L[2], SC_L[3], 0 };
  while (mp_geq(rr, L5, 5)) mp_sub(rr, L5, 5);
  memcpy(r, rr, 4 * sizeof(uint64_t));
}

static void sc_load(uint64_t r[4], const uint8_t s[32]) {
  for (int i = 0; i < 4; i++) {
    uint64_t x = 0;
    for (int j = 7; j >= 0; j--) x = (x << 8) | s[8 * i + j];
    r[i] = x;
  }
}

static int sc_is_canonical(const uint64_t s[4]) { return !mp_geq(s, SC_L, 4); }

// r = a * b mod L (a, b < 2^256)
static void sc_mul(uint64_t r[4], const uint64_t a[4], const uint64_t b[4]) {
  uint64_t t[8];
  mp_mul(t, a, 4, b, 4);
  sc_reduce512(r, t);
}

// r = a + b mod L (a, b < L)
static void sc_add(uint64_t r[4], const uint64_t a[4], const uint64_t b[4]) {
  uint64_t t[5];
  uint64_t carry = 0;
  for (int i = 0; i < 4; i++) {
    u128 s = (u128)a[i] + b[i] + carry;
    t[i] = (uint64_t)s;
    carry = (uint64_t)(s >> 64);
  }
  t[4] = carry;
  uint64_t L5[5] = { SC_L[0], SC_L[1], SC_L[2], SC_L[3], 0 };
  if (mp_geq(t, L5, 5)) mp_sub(t, L5, 5);
  memcpy(r, t, 4 * sizeof(uint64_t));
}

/* ---------- SHA-512 (FIPS 180-4) ---------- */

typedef struct { uint64_t h[8]; uint8_t buf[128]; size_t used; uint64_t total; } sha512_ctx;

#define ROTR(x, n) (((x) >> (n)) | ((x) << (64 - (n))))

static void sha512_block(uint64_t h[8], const uint8_t p[128]) {
  uint64_t w[80];
  for (int t = 0; t < 16; t++) {
    uint64_t x = 0;
    for (int j = 0; j < 8; j++) x = (x << 8) | p[8 * t + j];
    w[t] = x;
  }
  for (int t = 16; t < 80; t++) {
    uint64_t s0 = ROTR(w[t - 15], 1) ^ ROTR(w[t - 15], 8) ^ (w[t - 15] >> 7);
    uint64_t s1 = ROTR(w[t - 2], 19) ^ ROTR(w[t - 2], 61) ^ (w[t - 2] >> 6);
    w[t] = s1 + w[t - 7] + s0 + w[t - 16];
  }
  uint64_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (int t = 0; t < 80; t++) {
    uint64_t t1 = k + (ROTR(e, 14) ^ ROTR(e, 18) ^ ROTR(e, 41)) + ((e & f) ^ (~e & g)) + SHA_K[t] + w[t];
    uint64_t t2 = (ROTR(a, 28) ^ ROTR(a, 34) ^ ROTR(a, 39)) + ((a & b) ^ (a & c) ^ (b & c));
    k = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

static void sha512_init(sha512_ctx *c) {
  memcpy(c->h, SHA_H0, sizeof c->h);
  c->used = 0;
  c->total = 0;
}

static void sha512_update(sha512_ctx *c, const uint8_t *p, size_t n) {
  c->total += n;
  while (n > 0) {
    size_t take = 128 - c->used;
    if (take > n) take = n;
    memcpy(c->buf + c->used, p, take);
    c->used += take;
    p += take;
    n -= take;
    if (c->used == 128) {
      sha512_block(c->h, c->buf);
      c->used = 0;
    }
  }
}

static void sha512_final(sha512_ctx *c, uint8_t out[64]) {
  uint64_t bits = c->total << 3;
  c->buf[c->used++] = 0x80;
  if (c->used > 112) {
    memset(c->buf + c->used, 0, 128 - c->used);
    sha512_block(c->h, c->buf);
    c->used = 0;
  }
  memset(c->buf + c->used, 0, 120 - c->used);
  c->buf[119] = (uint8_t)(c->total >> 61); // the top bits of the 128-bit length
  for (int j = 0; j < 8; j++) c->buf[120 + j] = (uint8_t)(bits >> (56 - 8 * j));
  sha512_block(c->h, c->buf);
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 8; j++) out[8 * i + j] = (uint8_t)(c->h[i] >> (56 - 8 * j));
}

/* ---------- SHA-256 (FIPS 180-4), for messages that are tagged hashes ---------- */

#define ROTR32(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const uint8_t p[64]) {
  uint32_t w[64];
  for (int t = 0; t < 16; t++) w[t] = ((uint32_t)p[4 * t] << 24) | ((uint32_t)p[4 * t + 1] << 16) | ((uint32_t)p[4 * t + 2] << 8) | p[4 * t + 3];
  for (int t = 16; t < 64; t++) {
    uint32_t s0 = ROTR32(w[t - 15], 7) ^ ROTR32(w[t - 15], 18) ^ (w[t - 15] >> 3);
    uint32_t s1 = ROTR32(w[t - 2], 17) ^ ROTR32(w[t - 2], 19) ^ (w[t - 2] >> 10);
    w[t] = s1 + w[t - 7] + s0 + w[t - 16];
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (int t = 0; t < 64; t++) {
    uint32_t t1 = k + (ROTR32(e, 6) ^ ROTR32(e, 11) ^ ROTR32(e, 25)) + ((e & f) ^ (~e & g)) + SHA256_K[t] + w[t];
    uint32_t t2 = (ROTR32(a, 2) ^ ROTR32(a, 13) ^ ROTR32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    k = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

// out = SHA-256(prefix (32 bytes) || m)
static void sha256_prefixed(uint8_t out[32], const uint8_t prefix[32], const uint8_t *m, size_t n) {
  uint32_t h[8];
  uint8_t buf[64];
  memcpy(h, SHA256_H0, sizeof h);
  uint64_t bits = ((uint64_t)n + 32) << 3;
  memcpy(buf, prefix, 32);
  size_t used = 32;
  while (n > 0) {
    size_t take = 64 - used < n ? 64 - used : n;
    memcpy(buf + used, m, take);
    used += take;
    m += take;
    n -= take;
    if (used == 64) {
      sha256_block(h, buf);
      used = 0;
    }
  }
  buf[used++] = 0x80;
  if (used > 56) {
    memset(buf + used, 0, 64 - used);
    sha256_block(h, buf);
    used = 0;
  }
  memset(buf + used, 0, 56 - used);
  for (int j = 0; j < 8; j++) buf[56 + j] = (uint8_t)(bits >> (56 - 8 * j));
  sha256_block(h, buf);
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 4; j++) out[4 * i + j] = (uint8_t)(h[i] >> (24 - 8 * j));
}

/* ---------- multi-scalar multiplication (Straus, width-5 NAF per point) ---------- */

#define NAF_LEN 256

// Width-5 non-adjacent form of s < 2^253: odd digits in [-15, 15], nonzero digits at least 5 apart,
// sum naf[i] 2^i = s. Returns the highest nonzero position, or -1.
static int naf5(int8_t naf[NAF_LEN], const uint64_t s[4]) {
  uint64_t x[5] = { s[0], s[1], s[2], s[3], 0 };
  memset(naf, 0, NAF_LEN);
  int top = -1, carry = 0, pos = 0;
  while (pos < NAF_LEN) {
    int idx = pos >> 6, bit = pos & 63;
    uint64_t bits = x[idx] >> bit;
    if (bit > 59) bits |= x[idx + 1] << (64 - bit);
    int window = carry + (int)(bits & 31);
    if ((window & 1) == 0) { pos++; continue; } // even: the carry moves up one bit
    if (window < 16) { carry = 0; naf[pos] = (int8_t)window; }
    else { carry = 1; naf[pos] = (int8_t)(window - 32); }
    top = pos;
    pos += 5;
  }
  return top;
}

// odd multiples P, 3P, ..., 15P
static void ge_table8(ge_cached tab[8], const ge_p3 *p) {
  ge_p1p1 t;
  ge_p3 p2, cur;
  ge_cached c2;
  ge_to_cached(&tab[0], p);
  ge_dbl(&t, p);
  ge_p1p1_to_p3(&p2, &t);
  ge_to_cached(&c2, &p2);
  cur = *p;
  for (int k = 1; k < 8; k++) {
    ge_add(&t, &cur, &c2);
    ge_p1p1_to_p3(&cur, &t);
    ge_to_cached(&tab[k], &cur);
  }
}

// 1 iff [8] sum sc[j] pts[j] = O; -1 when out of memory
static int msm_is_torsion(const ge_p3 *pts, const uint64_t (*sc)[4], size_t n) {
  ge_cached *tab = malloc(sizeof(ge_cached) * 8 * n);
  int8_t *naf = malloc((size_t)NAF_LEN * n);
  if (!tab || !naf) { free(tab); free(naf); return -1; }
  int top = -1;
  for (size_t j = 0; j < n; j++) {
    int t = naf5(naf + j * NAF_LEN, sc[j]);
    if (t > top) top = t;
    if (t >= 0) ge_table8(tab + 8 * j, &pts[j]);
  }
  ge_p3 acc;
  ge_p1p1 t;
  ge_identity(&acc);
  for (int i = top; i >= 0; i--) {
    ge_dbl(&t, &acc);
    for (size_t j = 0; j < n; j++) {
      int d = naf[j * NAF_LEN + i];
      if (d == 0) continue;
      ge_p1p1_to_p3(&acc, &t);
      if (d > 0) ge_add(&t, &acc, &tab[8 * j + (d >> 1)]);
      else ge_sub(&t, &acc, &tab[8 * j + ((-d) >> 1)]);
    }
    ge_p1p1_to_p2(&acc, &t);
  }
  free(tab);
  free(naf);
  ge_p3 r;
  ge_mul8(&r, &acc);
  return ge_is_identity(&r);
}

/* ---------- verification ---------- */

typedef struct {
  ge_p3 negA, negR;
  uint64_t s[4], k[4];
} prepared;

// The rule's checks on encodings and orders, and the challenge k. 0 iff they pass.
static int prepare(prepared *p, const uint8_t pk[32], const uint8_t sig[64], const uint8_t *m, size_t mlen) {
  sc_load(p->s, sig + 32);
  if (!sc_is_canonical(p->s)) return -1;
  if (ge_decode_neg(&p->negA, pk) != 0 || enc_is_small_order(pk)) return -1;
  if (ge_decode_neg(&p->negR, sig) != 0 || enc_is_small_order(sig)) return -1;
  sha512_ctx c;
  uint8_t h[64];
  uint64_t hx[8];
  sha512_init(&c);
  sha512_update(&c, sig, 32);
  sha512_update(&c, pk, 32);
  sha512_update(&c, m, mlen);
  sha512_final(&c, h);
  for (int i = 0; i < 8; i++) {
    uint64_t x = 0;
    for (int j = 7; j >= 0; j--) x = (x << 8) | h[8 * i + j];
    hx[i] = x;
  }
  sc_reduce512(p->k, hx);
  return 0;
}

static ge_p3 base_point(void) {
  ge_p3 b;
  fe_copy(&b.X, &FE_BX);
  fe_copy(&b.Y, &FE_BY);
  fe_1(&b.Z);
  fe_copy(&b.T, &FE_BT);
  return b;
}

// [8]([S]B - R - [k]A) = O for one prepared signature
static int check_one(const prepared *p) {
  ge_p3 pts[3] = { base_point(), p->negR, p->negA };
  uint64_t sc[3][4] = { { p->s[0], p->s[1], p->s[2], p->s[3] }, { 1, 0, 0, 0 }, { p->k[0], p->k[1], p->k[2], p->k[3] } };
  return msm_is_torsion(pts, (const uint64_t (*)[4])sc, 3) == 1;
}

static int fill_random(uint8_t *b, size_t n) {
  while (n > 0) {
    ssize_t got = getrandom(b, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    b += got;
    n -= (size_t)got;
  }
  return 0;
}

#define CHUNK 64

typedef struct {
  const uint8_t *pk, *sig, *msg;
  size_t mlen;
} item;

// Verdicts for items [0, n) into out; batch = 0 checks each alone. Returns how many batch equations
// failed (each sent its chunk to one-by-one checks), or -1 when out of memory.
static int verify_many(size_t n, const item *it, uint8_t *out, int batch) {
  prepared *pr = malloc(sizeof(prepared) * CHUNK);
  ge_p3 *pts = malloc(sizeof(ge_p3) * (2 * CHUNK + 1));
  uint64_t (*sc)[4] = malloc(sizeof(uint64_t[4]) * (2 * CHUNK + 1));
  size_t idx[CHUNK];
  uint8_t z[16 * CHUNK];
  int failed = 0;
  if (!pr || !pts || !sc) { free(pr); free(pts); free(sc); return -1; }
  for (size_t base = 0; base < n; base += CHUNK) {
    size_t cnt = n - base < CHUNK ? n - base : CHUNK, m = 0;
    for (size_t i = base; i < base + cnt; i++) {
      out[i] = 0;
      if (prepare(&pr[m], it[i].pk, it[i].sig, it[i].msg, it[i].mlen) == 0) idx[m++] = i;
    }
    int together = batch && m >= 2 && fill_random(z, 16 * m) == 0;
    if (together) {
      uint64_t sB[4] = { 0, 0, 0, 0 };
      for (size_t j = 0; j < m; j++) {
        uint64_t zj[4] = { 0, 0, 0, 0 }, t[4];
        memcpy(zj, z + 16 * j, 16); // any 128 bits: byte order does not matter for a random value
        sc_mul(t, zj, pr[j].s);
        sc_add(sB, sB, t);
        pts[1 + 2 * j] = pr[j].negR;
        memcpy(sc[1 + 2 * j], zj, sizeof zj);
        pts[2 + 2 * j] = pr[j].negA;
        sc_mul(sc[2 + 2 * j], zj, pr[j].k);
      }
      pts[0] = base_point();
      memcpy(sc[0], sB, sizeof sB);
      int r = msm_is_torsion(pts, (const uint64_t (*)[4])sc, 2 * m + 1);
      if (r < 0) { free(pr); free(pts); free(sc); return -1; }
      if (r == 1) {
        for (size_t j = 0; j < m; j++) out[idx[j]] = 1;
        continue;
      }
      failed++;
    }
    for (size_t j = 0; j < m; j++) out[idx[j]] = (uint8_t)check_one(&pr[j]);
  }
  free(pr);
  free(pts);
  free(sc);
  return failed;
}

/* ---------- Node-API ---------- */

static int typed_bytes(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return -1;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, len, data, &ab, &off) != napi_ok || type != want) return -1;
  return 0;
}

// verify(pks: Uint8Array(32 n), sigs: Uint8Array(64 n), msgs: Uint8Array, msgEnds: Uint32Array(n),
//        out: Uint8Array(n), batch: boolean) -> number of failed batch equations
static napi_value js_verify(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6) {
    napi_throw_type_error(env, NULL, "verify(pks, sigs, msgs, msgEnds, out, batch): 6 arguments");
    return NULL;
  }
  void *pks, *sigs, *msgs, *ends, *out;
  size_t npk, nsig, nmsg, nend, nout;
  bool batch;
  if (typed_bytes(env, argv[0], napi_uint8_array, &pks, &npk) || typed_bytes(env, argv[1], napi_uint8_array, &sigs, &nsig) ||
      typed_bytes(env, argv[2], napi_uint8_array, &msgs, &nmsg) || typed_bytes(env, argv[3], napi_uint32_array, &ends, &nend) ||
      typed_bytes(env, argv[4], napi_uint8_array, &out, &nout) || napi_get_value_bool(env, argv[5], &batch) != napi_ok) {
    napi_throw_type_error(env, NULL, "verify: expected Uint8Array, Uint8Array, Uint8Array, Uint32Array, Uint8Array, boolean");
    return NULL;
  }
  size_t n = nend;
  if (npk != 32 * n || nsig != 64 * n || nout != n || (n > 0 && ((const uint32_t *)ends)[n - 1] > nmsg)) {
    napi_throw_range_error(env, NULL, "verify: lengths disagree (32 n key bytes, 64 n signature bytes, n verdicts, ends within msgs)");
    return NULL;
  }
  for (size_t i = 1; i < n; i++) {
    if (((const uint32_t *)ends)[i] < ((const uint32_t *)ends)[i - 1]) {
      napi_throw_range_error(env, NULL, "verify: msgEnds must not decrease");
      return NULL;
    }
  }
  item *it = malloc(sizeof(item) * (n ? n : 1));
  if (!it) {
    napi_throw_error(env, NULL, "verify: out of memory");
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    size_t start = i == 0 ? 0 : ((const uint32_t *)ends)[i - 1];
    it[i].pk = (const uint8_t *)pks + 32 * i;
    it[i].sig = (const uint8_t *)sigs + 64 * i;
    it[i].msg = (const uint8_t *)msgs + start;
    it[i].mlen = ((const uint32_t *)ends)[i] - start;
  }
  int failed = verify_many(n, it, out, batch);
  free(it);
  if (failed < 0) {
    napi_throw_error(env, NULL, "verify: out of memory");
    return NULL;
  }
  napi_value r;
  napi_create_uint32(env, (uint32_t)failed, &r);
  return r;
}

// verifyTagged(data: Uint8Array, prefix: Uint8Array(32), spans: Uint32Array(4 n), out: Uint8Array(n),
//              batch: boolean) -> number of failed batch equations. Item i: spans[4i, 4i+4) =
// (message start, message length, key offset, signature offset) in data; the signed message is
// SHA-256(prefix || data[start, start + length)), a tagged hash (docs/PROTOCOL.md).
static napi_value js_verify_tagged(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5) {
    napi_throw_type_error(env, NULL, "verifyTagged(data, prefix, spans, out, batch): 5 arguments");
    return NULL;
  }
  void *data, *prefix, *spans, *out;
  size_t ndata, nprefix, nspans, nout;
  bool batch;
  if (typed_bytes(env, argv[0], napi_uint8_array, &data, &ndata) || typed_bytes(env, argv[1], napi_uint8_array, &prefix, &nprefix) ||
      typed_bytes(env, argv[2], napi_uint32_array, &spans, &nspans) || typed_bytes(env, argv[3], napi_uint8_array, &out, &nout) ||
      napi_get_value_bool(env, argv[4], &batch) != napi_ok) {
    napi_throw_type_error(env, NULL, "verifyTagged: expected Uint8Array, Uint8Array, Uint32Array, Uint8Array, boolean");
    return NULL;
  }
  size_t n = nout;
  const uint32_t *sp = spans;
  if (nprefix != 32 || nspans != 4 * n) {
    napi_throw_range_error(env, NULL, "verifyTagged: a 32-byte prefix and 4 spans entries per verdict");
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    if ((uint64_t)sp[4 * i] + sp[4 * i + 1] > ndata || (uint64_t)sp[4 * i + 2] + 32 > ndata || (uint64_t)sp[4 * i + 3] + 64 > ndata) {
      napi_throw_range_error(env, NULL, "verifyTagged: a span reaches past the data");
      return NULL;
    }
  }
  item *it = malloc(sizeof(item) * (n ? n : 1));
  uint8_t *hashes = malloc(32 * (n ? n : 1));
  if (!it || !hashes) {
    free(it);
    free(hashes);
    napi_throw_error(env, NULL, "verifyTagged: out of memory");
    return NULL;
  }
  const uint8_t *d = data;
  for (size_t i = 0; i < n; i++) {
    sha256_prefixed(hashes + 32 * i, prefix, d + sp[4 * i], sp[4 * i + 1]);
    it[i].msg = hashes + 32 * i;
    it[i].mlen = 32;
    it[i].pk = d + sp[4 * i + 2];
    it[i].sig = d + sp[4 * i + 3];
  }
  int failed = verify_many(n, it, out, batch);
  free(it);
  free(hashes);
  if (failed < 0) {
    napi_throw_error(env, NULL, "verifyTagged: out of memory");
    return NULL;
  }
  napi_value r;
  napi_create_uint32(env, (uint32_t)failed, &r);
  return r;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  if (napi_create_function(env, "verify", NAPI_AUTO_LENGTH, js_verify, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "verify", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "verifyTagged", NAPI_AUTO_LENGTH, js_verify_tagged, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "verifyTagged", fn) != napi_ok) return NULL;
  return exports;
}
