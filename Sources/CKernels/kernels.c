#include "kernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

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
    int32_t a = (half + 127) << 23, b = (integer - half + 127) << 23;
    float sa, sb;
    memcpy(&sa, &a, 4);
    memcpy(&sb, &b, 4);
    float result = p * sa * sb;
    return x < lowest ? 0.0f : result;
}

MULTIVERSION
float gk_exp_shifted(float *row, long n, float shift) {
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
    float total = 0;
    for (; j < n; j++) {
        float e = exp_approx(row[j] - shift);
        row[j] = e;
        total += e;
    }
    for (int k = 0; k < 16; k++) total += sums[k];
    return total;
}

MULTIVERSION
float gk_max(const float *row, long n) {
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
