#ifndef GRADTI_PACKED_PRODUCTS_H
#define GRADTI_PACKED_PRODUCTS_H

/* Products for attention's thin shapes (head width 40, 77 keys, blocks of a few dozen queries),
   where a general sgemm spends its time packing operands on every call. B is packed once by the
   caller (gk_pack), so the kernel streams it as whole vectors and never packs anything. */

/* C[m×n] = alpha · A·B (+ C when accumulate), where A(i, k) = a[i·a_row + k·a_depth] (any strides:
   A or Aᵀ as stored) and B is depth × n, row-major with leading dimension ldb ≥ n rounded up to 16,
   readable up to that width (what the padding holds only reaches columns that are not stored). */
void gk_packed_product(long m, long n, long depth, float alpha, const float *a, long a_row, long a_depth,
                       const float *b, long ldb, int accumulate, float *c, long ldc);

/* The same product without the AVX-512 intrinsics path (what CPUs without AVX-512 run); exposed so
   that tests on an AVX-512 machine check it too. */
void gk_packed_product_portable(long m, long n, long depth, float alpha, const float *a, long a_row, long a_depth,
                                const float *b, long ldb, int accumulate, float *c, long ldc);

/* dst (rows × ldd, row-major) = the rows × cols matrix src (leading dimension ld), or its transpose
   (then cols × ldd) when transpose is set; the columns from the matrix's width up to ldd are zeroed. */
void gk_pack(const float *src, long ld, long rows, long cols, int transpose, float *dst, long ldd);

/* dst[j·ldd + i] += src[i·lds + j]: adds the transpose of a rows × cols matrix. */
void gk_add_transposed(const float *src, long lds, long rows, long cols, float *dst, long ldd);

#endif
