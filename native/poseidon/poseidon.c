// Poseidon over the BN254 scalar field, exactly circomlibjs's `poseidon_opt.js` (the optimised
// round structure of filecoin's neptune: full rounds with M, one round with P, partial rounds with
// the sparse S matrices), with 4 x 64-bit Montgomery arithmetic. The round constants are not in
// this file: the caller hands over circomlibjs's own (poseidon_constants_opt) once per width, so
// the addon cannot disagree with the library it replaces about them. See README.md.
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "little-endian hosts only (the constants are copied as little-endian words): the node falls back to the wasm Poseidon"
#endif

typedef unsigned __int128 u128;
typedef struct { uint64_t v[4]; } fe; // Montgomery form, fully reduced (< r)

// r = 21888242871839275222246405745257275088548364400416034343698204186575808495617, little-endian limbs
static const uint64_t R[4] = {0x43e1f593f0000001ULL, 0x2833e84879b97091ULL, 0xb85045b68181585dULL, 0x30644e72e131a029ULL};
static const uint64_t R_INV = 0xc2e1f593efffffffULL; // -r^-1 mod 2^64
static const fe R2 = {{0x1bb8e645ae216da7ULL, 0x53fe3ab1e35c59e3ULL, 0x8c49833d53bb8085ULL, 0x0216d0b17f4e44a5ULL}}; // 2^512 mod r

#define N_ROUNDS_F 8
#define MAX_T 17
static const int N_ROUNDS_P[16] = {56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68};

static const uint64_t R2X[4] = {0x87c3eb27e0000002ULL, 0x5067d090f372e122ULL, 0x70a08b6d0302b0baULL, 0x60c89ce5c2634053ULL}; // 2r
static const uint64_t R4X[4] = {0x0f87d64fc0000004ULL, 0xa0cfa121e6e5c245ULL, 0xe14116da06056174ULL, 0xc19139cb84c680a6ULL}; // 4r

static inline int geq_r(const uint64_t a[4]) {
  for (int i = 3; i >= 0; i--) {
    if (a[i] > R[i]) return 1;
    if (a[i] < R[i]) return 0;
  }
  return 1;
}

// a = hi 2^256 + a - m if that is >= 0, else a unchanged; without branches (whether it subtracts
// depends on the data: a branch would be mispredicted about half the time)
static inline void csub(uint64_t a[4], uint64_t hi, const uint64_t m[4]) {
  uint64_t d[4], b = 0;
  for (int i = 0; i < 4; i++) {
    uint64_t x;
    const uint64_t b1 = __builtin_sub_overflow(a[i], m[i], &x);
    b = b1 | __builtin_sub_overflow(x, b, &d[i]);
  }
  const uint64_t keep = (uint64_t)0 - (uint64_t)(b & (hi == 0)); // all ones: a < m
  for (int i = 0; i < 4; i++) a[i] = (a[i] & keep) | (d[i] & ~keep);
}

// lo, hi = a * b + c + d (< 2^128: never overflows). Written with 64-bit adds and compares, which
// gcc turns into add/adc; sums of unsigned __int128 went through the stack.
#define MAC(lo, hi, a, b, c, d)                 \
  do {                                          \
    const u128 r_ = (u128)(a) * (b);            \
    uint64_t l_ = (uint64_t)r_, h_ = (uint64_t)(r_ >> 64); \
    l_ += (c);                                  \
    h_ += l_ < (c);                             \
    l_ += (d);                                  \
    h_ += l_ < (d);                             \
    (lo) = l_;                                  \
    (hi) = h_;                                  \
  } while (0)

// lo, hi = a * b + c
#define MAC1(lo, hi, a, b, c)                   \
  do {                                          \
    const u128 r_ = (u128)(a) * (b) + (c);      \
    (lo) = (uint64_t)r_;                        \
    (hi) = (uint64_t)(r_ >> 64);                \
  } while (0)

// a + b mod r; both < r < 2^254, so the sum fits in 256 bits
static inline void fadd(fe *o, const fe *a, const fe *b) {
  uint64_t c = 0;
  for (int i = 0; i < 4; i++) {
    uint64_t s = a->v[i] + b->v[i];
    uint64_t c1 = s < b->v[i];
    s += c;
    c1 += s < c;
    o->v[i] = s;
    c = c1;
  }
  csub(o->v, 0, R);
}

// p = a * b, 512 bits
static inline void mul_wide(uint64_t p[8], const fe *a, const fe *b) {
  for (int k = 0; k < 8; k++) p[k] = 0;
  for (int i = 0; i < 4; i++) {
    uint64_t c = 0;
    for (int j = 0; j < 4; j++) MAC(p[i + j], c, a->v[j], b->v[i], p[i + j], c);
    p[i + 4] = c;
  }
}

// acc += a * b as a 512-bit sum (no reduction)
static inline void mac(uint64_t acc[8], const fe *a, const fe *b) {
  uint64_t p[8], c = 0;
  mul_wide(p, a, b);
  for (int k = 0; k < 8; k++) {
    uint64_t s = acc[k] + p[k];
    uint64_t c1 = s < p[k];
    s += c;
    c1 += s < c;
    acc[k] = s;
    c = c1;
  }
}

// t / 2^256 mod r for t < 2^256 r: the upper half after the 4 Montgomery steps (see redc_sum)
static inline void redc(fe *o, uint64_t t[8]) {
  uint64_t carry = 0; // the carry out of limb i + 4, added at the next limb
  for (int i = 0; i < 4; i++) {
    const uint64_t m = t[i] * R_INV;
    uint64_t c = 0;
    for (int j = 0; j < 4; j++) MAC(t[i + j], c, m, R[j], t[i + j], c);
    uint64_t s = t[i + 4] + c;
    uint64_t c1 = s < c;
    s += carry;
    c1 += s < carry;
    t[i + 4] = s;
    carry = c1;
  }
  memcpy(o->v, t + 4, 32);
}

// Montgomery product a * b / 2^256 mod r: CIOS without the extra carry words (valid because r's
// top word is below 2^63 - 1; the "no-carry" form of gnark-crypto), < 2r before the subtraction
static inline void fmul(fe *o, const fe *x, const fe *y) {
  const uint64_t a0 = x->v[0], a1 = x->v[1], a2 = x->v[2], a3 = x->v[3];
  uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0;
  for (int i = 0; i < 4; i++) {
    const uint64_t b = y->v[i];
    uint64_t A, C, u, lo;
    MAC1(u, A, a0, b, t0);
    const uint64_t m = u * R_INV;
    MAC1(lo, C, m, R[0], u); // lo = 0
    (void)lo;
    MAC(u, A, a1, b, t1, A);
    MAC(t0, C, m, R[1], u, C);
    MAC(u, A, a2, b, t2, A);
    MAC(t1, C, m, R[2], u, C);
    MAC(u, A, a3, b, t3, A);
    MAC(t2, C, m, R[3], u, C);
    t3 = C + A;
  }
  o->v[0] = t0;
  o->v[1] = t1;
  o->v[2] = t2;
  o->v[3] = t3;
  csub(o->v, 0, R);
}

// Montgomery reduction of a sum of at most 17 products of values < r: T < 17 r^2 < 2^512 and
// T + m r < 2^512, so (T + m r) / 2^256 < (17 r / 2^256 + 1) r < 4.3 r < 2^256 (r < 0.19 2^256);
// then 4r, 2r and r off where they fit
static inline void redc_sum(fe *o, uint64_t t[8]) {
  redc(o, t);
  csub(o->v, 0, R4X); // < 4.3r -> < 4r
  csub(o->v, 0, R2X); // -> < 2r
  csub(o->v, 0, R);
}

// dot(a, b) = sum_j a[j * stride] * b[j] mod r in Montgomery form, one reduction
static inline void dot(fe *o, const fe *a, int stride, const fe *b, int n) {
  uint64_t acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int j = 0; j < n; j++) mac(acc, &a[j * stride], &b[j]);
  redc_sum(o, acc);
}

static inline void pow5(fe *a) {
  fe s;
  fmul(&s, a, a);
  fmul(&s, &s, &s);
  fmul(a, a, &s);
}

// out[i] = sum_j m[j * t + i] * st[j]
static inline void mix(fe *st, const fe *m, int t) {
  fe out[MAX_T];
  for (int i = 0; i < t; i++) dot(&out[i], &m[i], t, st, t);
  memcpy(st, out, sizeof(fe) * (size_t)t);
}

typedef struct {
  int t, nrp;
  fe *c, *s, *m, *p; // 8t + nrp, (2t - 1) nrp, t t, t t
} width_t;

typedef struct {
  width_t w[MAX_T + 1]; // by t; c == NULL until set
} instance_t;

// circomlibjs poseidon_opt.js, line for line (initial state 0, one output)
static void permute(const width_t *w, fe *st) {
  const int t = w->t, nrp = w->nrp;
  const fe *C = w->c;
  for (int i = 0; i < t; i++) fadd(&st[i], &st[i], &C[i]);
  for (int r = 0; r < N_ROUNDS_F / 2 - 1; r++) {
    for (int i = 0; i < t; i++) pow5(&st[i]);
    for (int i = 0; i < t; i++) fadd(&st[i], &st[i], &C[(r + 1) * t + i]);
    mix(st, w->m, t);
  }
  for (int i = 0; i < t; i++) pow5(&st[i]);
  for (int i = 0; i < t; i++) fadd(&st[i], &st[i], &C[(N_ROUNDS_F / 2) * t + i]);
  mix(st, w->p, t);
  for (int r = 0; r < nrp; r++) {
    pow5(&st[0]);
    fadd(&st[0], &st[0], &C[(N_ROUNDS_F / 2 + 1) * t + r]);
    const fe *S = &w->s[(2 * t - 1) * r];
    fe s0, p;
    dot(&s0, S, 1, st, t);
    for (int k = 1; k < t; k++) {
      fmul(&p, &st[0], &S[t + k - 1]);
      fadd(&st[k], &st[k], &p);
    }
    st[0] = s0;
  }
  for (int r = 0; r < N_ROUNDS_F / 2 - 1; r++) {
    for (int i = 0; i < t; i++) pow5(&st[i]);
    for (int i = 0; i < t; i++) fadd(&st[i], &st[i], &C[(N_ROUNDS_F / 2 + 1) * t + nrp + r * t + i]);
    mix(st, w->m, t);
  }
  for (int i = 0; i < t; i++) pow5(&st[i]);
  mix(st, w->m, t);
}

// ---- Node-API ----

static void instance_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  instance_t *in = data;
  for (int t = 0; t <= MAX_T; t++) free(in->w[t].c);
  free(in);
}

static instance_t *instance(napi_env env) {
  void *d = NULL;
  if (napi_get_instance_data(env, &d) != napi_ok) return NULL;
  return d;
}

static int u32_arg(napi_env env, napi_value v, uint32_t *out) {
  return napi_get_value_uint32(env, v, out) == napi_ok ? 0 : -1;
}

static int bytes_arg(napi_env env, napi_value v, const uint8_t **data, size_t *len) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return -1;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  void *p;
  if (napi_get_typedarray_info(env, v, &type, len, &p, &ab, &off) != napi_ok || type != napi_uint8_array) return -1;
  *data = p;
  return 0;
}

// 32-byte little-endian canonical values -> Montgomery form; -1 if one is >= r
static int load_consts(fe *dst, const uint8_t *src, size_t n) {
  for (size_t k = 0; k < n; k++) {
    fe x;
    memcpy(x.v, src + 32 * k, 32); // little-endian words on a little-endian host (checked above)
    if (geq_r(x.v)) return -1;
    fmul(&dst[k], &x, &R2);
  }
  return 0;
}

// setWidth(t, C, S, M, P): circomlibjs's constants for width t, each a Uint8Array of 32-byte
// little-endian values (M and P row by row, as poseidon_opt.js indexes them: M[j][i] at j * t + i)
static napi_value js_set_width(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  uint32_t t;
  const uint8_t *b[4];
  size_t len[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5 || u32_arg(env, argv[0], &t) ||
      bytes_arg(env, argv[1], &b[0], &len[0]) || bytes_arg(env, argv[2], &b[1], &len[1]) ||
      bytes_arg(env, argv[3], &b[2], &len[2]) || bytes_arg(env, argv[4], &b[3], &len[3])) {
    napi_throw_type_error(env, NULL, "setWidth(t, C, S, M, P): a width and 4 Uint8Arrays");
    return NULL;
  }
  if (t < 2 || t > MAX_T) {
    napi_throw_range_error(env, NULL, "setWidth: t outside 2..17");
    return NULL;
  }
  const size_t nrp = (size_t)N_ROUNDS_P[t - 2];
  const size_t want[4] = {8 * t + nrp, (2 * t - 1) * nrp, (size_t)t * t, (size_t)t * t};
  for (int k = 0; k < 4; k++) {
    if (len[k] != 32 * want[k]) {
      napi_throw_range_error(env, NULL, "setWidth: constant counts do not match the width (C 8t + nRoundsP, S (2t - 1) nRoundsP, M and P t^2)");
      return NULL;
    }
  }
  instance_t *in = instance(env);
  if (!in) {
    napi_throw_error(env, NULL, "setWidth: no instance data");
    return NULL;
  }
  fe *all = malloc(sizeof(fe) * (want[0] + want[1] + want[2] + want[3]));
  if (!all) {
    napi_throw_error(env, NULL, "setWidth: out of memory");
    return NULL;
  }
  fe *at = all;
  for (int k = 0; k < 4; k++) {
    if (load_consts(at, b[k], want[k])) {
      free(all);
      napi_throw_range_error(env, NULL, "setWidth: a constant is not below the field order");
      return NULL;
    }
    at += want[k];
  }
  width_t *w = &in->w[t];
  free(w->c);
  w->t = (int)t;
  w->nrp = (int)nrp;
  w->c = all;
  w->s = all + want[0];
  w->m = w->s + want[1];
  w->p = w->m + want[2];
  return NULL;
}

// hash(inputs: bigint[]) -> bigint: Poseidon(inputs) with initial state 0, every input in [0, r)
static napi_value js_hash(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arr;
  uint32_t n = 0;
  bool isArr = false;
  if (napi_get_cb_info(env, info, &argc, &arr, NULL, NULL) != napi_ok || argc < 1 || napi_is_array(env, arr, &isArr) != napi_ok || !isArr ||
      napi_get_array_length(env, arr, &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "hash(inputs): an array of bigints");
    return NULL;
  }
  if (n < 1 || n > MAX_T - 1) {
    napi_throw_range_error(env, NULL, "hash: arity outside 1..16");
    return NULL;
  }
  instance_t *in = instance(env);
  const width_t *w = in ? &in->w[n + 1] : NULL;
  if (!w || !w->c) {
    napi_throw_error(env, NULL, "hash: constants for this width not set (setWidth)");
    return NULL;
  }
  fe st[MAX_T];
  memset(&st[0], 0, sizeof(fe));
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    int sign = 0;
    size_t words = 4;
    fe x = {{0, 0, 0, 0}};
    if (napi_get_element(env, arr, i, &v) != napi_ok || napi_get_value_bigint_words(env, v, &sign, &words, x.v) != napi_ok) {
      napi_throw_type_error(env, NULL, "hash: every input must be a bigint");
      return NULL;
    }
    if (sign || words > 4 || geq_r(x.v)) {
      napi_throw_range_error(env, NULL, "hash: every input must be in [0, r)");
      return NULL;
    }
    fmul(&st[i + 1], &x, &R2);
  }
  permute(w, st);
  static const fe ONE = {{1, 0, 0, 0}};
  fe out;
  fmul(&out, &st[0], &ONE); // out of Montgomery form
  napi_value r;
  if (napi_create_bigint_words(env, 0, 4, out.v, &r) != napi_ok) return NULL;
  return r;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  instance_t *in = calloc(1, sizeof(instance_t));
  if (!in || napi_set_instance_data(env, in, instance_free, NULL) != napi_ok) {
    free(in);
    return NULL;
  }
  napi_value fn;
  if (napi_create_function(env, "setWidth", NAPI_AUTO_LENGTH, js_set_width, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "setWidth", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "hash", NAPI_AUTO_LENGTH, js_hash, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "hash", fn) != napi_ok) return NULL;
  return exports;
}
