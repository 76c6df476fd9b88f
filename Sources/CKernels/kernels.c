#include "kernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#if defined(__x86_64__) && defined(__ELF__)
#define MULTIVERSION __attribute__((target_clones("avx512f", "avx2,fma", "default")))
#else
#define MULTIVERSION
#endif

/* exp(x) = 2^n e^r, n = round(x / ln 2), |r| <= ln2/2, e^r by Cephes' degree-6 polynomial;
   2^n as 2^(n/2) 2^(n - n/2) so both factors stay normal for n in [-126, 128]. Relative error
   <= 2 ulp on [-87.3, 88.7]; 0 below. Branch-free, so the loops below vectorise. */
static inline float exp_approx(float x) {
    const float lowest = -87.33654f, highest = 88.72283f;
    float c = x < lowest ? lowest : (x > highest ? highest : x);
    float shifted = c * 1.44269504f + 12582912.0f;
    float n = shifted - 12582912.0f;
    float r = c - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits;
    memcpy(&bits, &shifted, 4);
    int32_t integer = bits - 0x4B400000;
    int32_t half = integer >> 1;
    uint32_t a = (uint32_t)(half + 127) << 23, b = (uint32_t)(integer - half + 127) << 23;   /* unsigned: NaN inputs shift no negative value */
    float sa, sb;
    memcpy(&sa, &a, 4);
    memcpy(&sb, &b, 4);
    float result = p * sa * sb;
    return x < lowest ? 0.0f : result;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
/* exp_approx's steps on sixteen lanes, with 2^n applied by vscalefps instead of the two integer
   built powers of two: a third fewer instructions, the same result bit for bit as the portable
   loop below compiled with FMA contraction (its AVX-512 and AVX2 clones: both multiply by 2^n
   exactly, rounding once), and the same lane sums. */
__attribute__((target("avx512f"))) static float exp_shifted512(float *row, long n, float shift) {
    const __m512 lowest = _mm512_set1_ps(-87.33654f), highest = _mm512_set1_ps(88.72283f);
    const __m512 magic = _mm512_set1_ps(12582912.0f), log2e = _mm512_set1_ps(1.44269504f);
    const __m512 ln2hi = _mm512_set1_ps(-0.693359375f), ln2lo = _mm512_set1_ps(2.12194440e-4f);
    const __m512 shifts = _mm512_set1_ps(shift), one = _mm512_set1_ps(1.0f);
    __m512 sums = _mm512_setzero_ps();
    for (long j = 0; j < n; j += 16) {
        __mmask16 lanes = j + 16 <= n ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - j)) - 1);
        __m512 x = _mm512_sub_ps(_mm512_maskz_loadu_ps(lanes, row + j), shifts);
        __mmask16 below = _mm512_cmp_ps_mask(x, lowest, _CMP_LT_OQ);
        __m512 c = _mm512_mask_mov_ps(_mm512_min_ps(highest, x), below, lowest);
        __m512 k = _mm512_sub_ps(_mm512_fmadd_ps(c, log2e, magic), magic);
        __m512 r = _mm512_fmadd_ps(k, ln2lo, _mm512_fmadd_ps(k, ln2hi, c));
        __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(1.9875691500e-4f), r, _mm512_set1_ps(1.3981999507e-3f));
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
        p = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), one);
        __m512 e = _mm512_maskz_mov_ps((__mmask16)(~below & lanes), _mm512_scalef_ps(p, k));
        _mm512_mask_storeu_ps(row + j, lanes, e);
        sums = _mm512_add_ps(sums, e);
    }
    /* The lanes summed as a tree (k + k+8, then k + k+4, ...), as lane_total does: short rows (77 keys)
       otherwise wait on a chain of sixteen dependent additions. */
    __m256 eight = _mm256_add_ps(_mm512_castps512_ps256(sums),
                                 _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(sums), 1)));
    __m128 four = _mm_add_ps(_mm256_castps256_ps128(eight), _mm256_extractf128_ps(eight, 1));
    __m128 two = _mm_add_ps(four, _mm_movehl_ps(four, four));
    __m128 one_ = _mm_add_ss(two, _mm_shuffle_ps(two, two, 1));
    return _mm_cvtss_f32(one_);
}
#define HAVE_EXP_SHIFTED512 1
#endif

/* The sum of sixteen partial sums as a tree: k + k+8, then k + k+4, k + k+2, k + k+1. */
static inline float lane_total(float sums[16]) {
    for (int width = 8; width >= 1; width /= 2)
        for (int k = 0; k < width; k++) sums[k] += sums[k + width];
    return sums[0];
}

MULTIVERSION
float gk_exp_shifted_portable(float *row, long n, float shift) {
    /* Sixteen partial sums: vectorisable, and the same order whatever the vector width. */
    float sums[16] = {0};
    long j = 0;
    for (; j + 16 <= n; j += 16) {
        for (int k = 0; k < 16; k++) {
            float e = exp_approx(row[j + k] - shift);
            row[j + k] = e;
            sums[k] += e;
        }
    }
    if (j < n) {
        /* The tail as one more padded vector (padding adds 0): rows of 77 keys (cross-attention
           to a prompt) otherwise spend most of their time in scalar code here. */
        float tail[16];
        long rest = n - j;
        for (int k = 0; k < 16; k++) tail[k] = k < rest ? row[j + k] : 0.0f;
        for (int k = 0; k < 16; k++) {
            float e = k < rest ? exp_approx(tail[k] - shift) : 0.0f;
            tail[k] = e;
            sums[k] += e;
        }
        for (long k = 0; k < rest; k++) row[j + k] = tail[k];
    }
    return lane_total(sums);
}

/* Whether the AVX-512 paths run here (one rule for the exponential and the maximum). */
static int wide_vectors(void) {
#ifdef HAVE_EXP_SHIFTED512
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

/* The widest path, chosen once per call rather than once per row: rows of 77 keys (cross-attention
   to a prompt) are short enough for a per-row dispatch to show. */
static inline float exp_row(float *row, long n, float shift, int wide) {
#ifdef HAVE_EXP_SHIFTED512
    if (wide) return exp_shifted512(row, n, shift);
#endif
    (void)wide;
    return gk_exp_shifted_portable(row, n, shift);
}

float gk_exp_shifted(float *row, long n, float shift) { return exp_row(row, n, shift, wide_vectors()); }

static float max_row(const float *row, long n, int wide);

void gk_softmax_rows(float *scores, long rows, long n, long ld, float *lse, float *inverse) {
    int wide = wide_vectors();
    for (long i = 0; i < rows; i++) {
        float *row = scores + i * ld;
        float maximum = max_row(row, n, wide);
        if (maximum == -INFINITY) {
            int nan = 0;
            for (long j = 0; j < n; j++) nan |= row[j] != row[j];
            if (nan) {
                /* Scores of NaN only (the maximum passes over NaN): keep the NaN visible. */
                for (long j = 0; j < n; j++) row[j] = NAN;
                lse[i] = NAN;
                inverse[i] = NAN;
                continue;
            }
            /* Every key masked: no weights, and a log-sum-exp that backward reads as "nothing here". */
            for (long j = 0; j < n; j++) row[j] = 0.0f;
            lse[i] = -INFINITY;
            inverse[i] = 0.0f;
            continue;
        }
        float sum = exp_row(row, n, maximum, wide);
        lse[i] = maximum + logf(sum);
        inverse[i] = 1.0f / sum;
    }
}

void gk_softmax_recompute_rows(float *scores, long rows, long n, long ld, const float *lse, long causal_offset) {
    int wide = wide_vectors();
    for (long i = 0; i < rows; i++) {
        float *row = scores + i * ld;
        long visible = n;
        if (causal_offset >= 0 && causal_offset + i + 1 < n) visible = causal_offset + i + 1;
        if (lse[i] == -INFINITY) visible = 0;
        if (visible > 0) (void)exp_row(row, visible, lse[i], wide);
        for (long j = visible; j < n; j++) row[j] = 0.0f;
    }
}

MULTIVERSION
void gk_softmax_backward_rows(const float *p, float *dp, long rows, long n, long ld, const float *g, const float *o,
                              long cols, long ldo) {
    for (long i = 0; i < rows; i++) {
        const float *gi = g + i * ldo, *oi = o + i * ldo;
        /* Sixteen partial sums, so the dot product vectorises in an order that does not depend on the width. */
        float sums[16] = {0};
        long c = 0;
        for (; c + 16 <= cols; c += 16)
            for (int k = 0; k < 16; k++) sums[k] += gi[c + k] * oi[c + k];
        for (; c < cols; c++) sums[c % 16] += gi[c] * oi[c];
        float s = lane_total(sums);
        const float *pi = p + i * ld;
        float *di = dp + i * ld;
        for (long j = 0; j < n; j++) di[j] = pi[j] * (di[j] - s);
    }
}

MULTIVERSION
void gk_scale_rows(float *x, long rows, long cols, long ld, const float *factors) {
    for (long i = 0; i < rows; i++) {
        float *xi = x + i * ld, f = factors[i];
        for (long j = 0; j < cols; j++) xi[j] *= f;
    }
}

MULTIVERSION
void gk_im2col_row(const float *restrict src, float *restrict dst, long height, long width, long ow, long ky, long kx,
                   long padding, long row0, long rows) {
    long first = padding - kx > 0 ? padding - kx : 0;
    long last = width + padding - kx < ow ? width + padding - kx : ow;
    if (first > ow) first = ow;   /* a kernel wider than the padded image: no valid column */
    if (last < first) last = first;
    for (long oy = row0; oy < row0 + rows; oy++) {
        float *d = dst + (oy - row0) * ow;
        long iy = oy + ky - padding;
        if (iy < 0 || iy >= height) {
            for (long ox = 0; ox < ow; ox++) d[ox] = 0.0f;
            continue;
        }
        const float *s = src + iy * width + kx - padding;
        for (long ox = 0; ox < first; ox++) d[ox] = 0.0f;
        for (long ox = first; ox < last; ox++) d[ox] = s[ox];
        for (long ox = last; ox < ow; ox++) d[ox] = 0.0f;
    }
}

#ifdef HAVE_EXP_SHIFTED512
/* The same maximum with the tail as one masked vector (rows of 77 keys end in 13 values). */
__attribute__((target("avx512f"))) static float max512(const float *row, long n) {
    __m512 m = _mm512_set1_ps(-INFINITY);
    for (long j = 0; j < n; j += 16) {
        __mmask16 lanes = j + 16 <= n ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - j)) - 1);
        m = _mm512_max_ps(_mm512_mask_loadu_ps(m, lanes, row + j), m);   /* a NaN is passed over, as below */
    }
    return _mm512_reduce_max_ps(m);
}
#endif

MULTIVERSION
float gk_max_portable(const float *row, long n) {
    float m[16];
    for (int k = 0; k < 16; k++) m[k] = -INFINITY;
    long j = 0;
    for (; j + 16 <= n; j += 16)
        for (int k = 0; k < 16; k++) m[k] = row[j + k] > m[k] ? row[j + k] : m[k];
    float result = -INFINITY;
    for (; j < n; j++) result = row[j] > result ? row[j] : result;
    for (int k = 0; k < 16; k++) result = m[k] > result ? m[k] : result;
    return result;
}

static float max_row(const float *row, long n, int wide) {
#ifdef HAVE_EXP_SHIFTED512
    if (wide) return max512(row, n);
#endif
    (void)wide;
    return gk_max_portable(row, n);
}

float gk_max(const float *row, long n) { return max_row(row, n, wide_vectors()); }

/* erf(x) ≈ x·P(x²)/Q(x²) on [-4, 4] (±1 outside, where erf is 1 to float precision): the
   rational approximation used by Eigen and XLA for float erf. */
static inline float erf_approx(float x) {
    float c = x < -4.0f ? -4.0f : (x > 4.0f ? 4.0f : x);
    float x2 = c * c;
    float p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 + -2.10102402082508e-06f;
    p = p * x2 + -5.69250639462346e-05f;
    p = p * x2 + -7.34990630326855e-04f;
    p = p * x2 + -2.95459980854025e-03f;
    p = p * x2 + -1.60960333262415e-02f;
    p = p * c;
    float q = -1.45660718464996e-05f;
    q = q * x2 + -2.13374055278905e-04f;
    q = q * x2 + -1.68282697438203e-03f;
    q = q * x2 + -7.37332916720468e-03f;
    q = q * x2 + -1.42647390514189e-02f;
    return p / q;
}

MULTIVERSION
void gk_erf(const float *x, float *out, long n) {
    for (long i = 0; i < n; i++) out[i] = erf_approx(x[i]);
}

MULTIVERSION
void gk_silu(const float *x, float *out, long n) {
    for (long i = 0; i < n; i++) out[i] = x[i] / (1.0f + exp_approx(-x[i]));
}

MULTIVERSION
void gk_silu_backward(const float *x, const float *g, float *out, long n) {
    for (long i = 0; i < n; i++) {
        float s = 1.0f / (1.0f + exp_approx(-x[i]));
        out[i] = g[i] * s * (1.0f + x[i] * (1.0f - s));
    }
}

MULTIVERSION
void gk_moments(const float *x, long n, float eps, float *mean, float *rstd) {
    double sums[16] = {0};
    long j = 0;
    for (; j + 16 <= n; j += 16)
        for (int k = 0; k < 16; k++) sums[k] += (double)x[j + k];
    double total = 0;
    for (; j < n; j++) total += (double)x[j];
    for (int k = 0; k < 16; k++) total += sums[k];
    float m = (float)(total / (double)n);
    float squares[16] = {0}, deviations[16] = {0};
    j = 0;
    for (; j + 16 <= n; j += 16)
        for (int k = 0; k < 16; k++) {
            float d = x[j + k] - m;
            squares[k] += d * d;
            deviations[k] += d;
        }
    float sq = 0, dev = 0;
    for (; j < n; j++) {
        float d = x[j] - m;
        sq += d * d;
        dev += d;
    }
    for (int k = 0; k < 16; k++) {
        sq += squares[k];
        dev += deviations[k];
    }
    /* Subtracting (sum d)^2 / n corrects the mean's rounding. */
    float variance = (sq - dev * dev / (float)n) / (float)n;
    if (variance < 0) variance = 0;
    *mean = m;
    *rstd = 1.0f / sqrtf(variance + eps);
}

MULTIVERSION
void gk_norm_backward_sums(const float *g, const float *x, const float *w, float m, long n, float *a, float *b) {
    float as[16] = {0}, bs[16] = {0};
    long j = 0;
    for (; j + 16 <= n; j += 16)
        for (int k = 0; k < 16; k++) {
            float wg = (w ? w[j + k] : 1.0f) * g[j + k];
            as[k] += wg;
            bs[k] += wg * (x[j + k] - m);
        }
    float ta = 0, tb = 0;
    for (; j < n; j++) {
        float wg = (w ? w[j] : 1.0f) * g[j];
        ta += wg;
        tb += wg * (x[j] - m);
    }
    for (int k = 0; k < 16; k++) {
        ta += as[k];
        tb += bs[k];
    }
    *a = ta;
    *b = tb;
}

int gk_keep_freed_memory(void) {
#if defined(__GLIBC__)
    return mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1;
#else
    return 0;
#endif
}

int gk_cpu_vector_level(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
#endif
    return 0;
}
