#ifndef GRADTI_KERNELS_H
#define GRADTI_KERNELS_H

#include "packed_products.h"

/* Hot loops that need the machine's widest vectors. Each is compiled for AVX-512, AVX2 and
   baseline x86-64 (or plain C elsewhere) and picked at load time, so one binary is both portable
   and fast. */

/* row[j] = exp(row[j] - shift) for j < n; returns the sum (in float: sixteen lanes, each left to right,
   then the lanes added as a tree). */
float gk_exp_shifted(float *row, long n, float shift);

/* The largest of n values (-inf for n = 0). */
float gk_max(const float *row, long n);

/* gk_exp_shifted and gk_max without their AVX-512 intrinsics paths (what CPUs without AVX-512 run);
   exposed so that tests on an AVX-512 machine check them too. The exponential gives the same bits on
   CPUs with FMA (the baseline x86-64 clone rounds its multiply-adds in two steps). */
float gk_exp_shifted_portable(float *row, long n, float shift);
float gk_max_portable(const float *row, long n);

/* Softmax numerators of `rows` rows of n scores (leading dimension ld), in place: exp(s - max) per
   row, with lse[i] = max + log(sum) and inverse[i] = 1/sum; a row of -inf becomes zeros with
   lse -inf and inverse 0. */
void gk_softmax_rows(float *scores, long rows, long n, long ld, float *lse, float *inverse);

/* Softmax probabilities recomputed in place from scores and their rows' log-sum-exp (attention's
   backward): exp(s - lse[i]) for the row's first visible(i) keys and 0 after them, where visible(i)
   is n, or min(n, causal_offset + i + 1) when causal_offset >= 0; a row whose lse is -inf is zeros. */
void gk_softmax_recompute_rows(float *scores, long rows, long n, long ld, const float *lse, long causal_offset);

/* Softmax's backward for a block of rows, in place: dp[i][j] = p[i][j] (dp[i][j] - s_i), where
   s_i = sum over c < cols of g[i][c] o[i][c] (the output's gradient and the output; leading dimension ldo). */
void gk_softmax_backward_rows(const float *p, float *dp, long rows, long n, long ld, const float *g, const float *o,
                              long cols, long ldo);

/* x[i][j] *= factors[i] for j < cols (leading dimension ld). */
void gk_scale_rows(float *x, long rows, long cols, long ld, const float *factors);



/* SiLU: out[i] = x[i] sigmoid(x[i]); and its backward, out[i] = g[i] s (1 + x (1 - s)). */
void gk_silu(const float *x, float *out, long n);
void gk_silu_backward(const float *x, const float *g, float *out, long n);

/* out[i] = erf(x[i]) for i < n, by a rational approximation (within a few ulp of libm's erff). */
void gk_erf(const float *x, float *out, long n);
/* One row (c, ky, kx) of a stride-1 convolution's column matrix, for output rows row0..row0+rows:
   dst[(oy - row0) * ow + ox] = src[(oy + ky - padding) * width + ox + kx - padding], 0 outside the
   height x width plane src; ow = width + 2 padding - kernel width + 1. */
void gk_im2col_row(const float *src, float *dst, long height, long width, long ow, long ky, long kx,
                   long padding, long row0, long rows);

/* Mean and 1/sqrt(variance + eps) of n values: the sum in double, then the corrected two-pass
   variance, both with sixteen partial sums (vectorised; the order does not depend on the width). */
void gk_moments(const float *x, long n, float eps, float *mean, float *rstd);

/* The sums a norm's backward needs over n values: *a = sum w[i] g[i] and *b = sum w[i] g[i] (x[i] - m),
   with w[i] = 1 when w is NULL. */
void gk_norm_backward_sums(const float *g, const float *x, const float *w, float m, long n, float *a, float *b);

/* Raises glibc's mmap and trim thresholds to their maximum, so freed tensor memory stays in the
   process for reuse instead of returning to the system and coming back as freshly zeroed pages.
   Returns 1 when both were set (0 elsewhere than glibc). */
int gk_keep_freed_memory(void);

/* What the CPU can run: 2 = AVX-512 (F, BW, DQ, VL), 1 = AVX2 with FMA, 0 = neither (or not x86-64). */
int gk_cpu_vector_level(void);
#endif
