#include "packed_products.h"

#if defined(__x86_64__) && defined(__ELF__)
#define MULTIVERSION __attribute__((target_clones("avx512f", "avx2,fma", "default")))
#else
#define MULTIVERSION
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX512_PATH 1
#endif

enum { TILE_ROWS = 8, LANES = 16, MAX_VECTORS = 3 };

/* Rows of A taken through every column panel before the next rows: about 16 KiB of A, so that it
   stays in L1 across the panels while B's panels come from L2. Panels outer over all of a tall A
   (3,404 query rows against 77 keys) read A from memory once per panel, at strided addresses the
   prefetchers do not follow. When even one tile's rows are deeper than that (depth > 512: P·V at
   4096 keys, dKᵀ over a head's 3,404 rows), all rows go through each panel, as the panel of B is
   then the part worth keeping in cache. */
static inline long row_block(long m, long depth) {
    long rows = 4096 / (depth > 0 ? depth : 1) / TILE_ROWS * TILE_ROWS;
    return rows < TILE_ROWS ? m : rows;
}

/* One tile of C: 8 rows by 16·vectors columns, its sums kept in registers (8 x 3 AVX-512 vectors)
   through the whole depth. Rows past the matrix repeat its last row and are not stored. */
static inline __attribute__((always_inline)) void tile(long rows, long cols, long depth, float alpha, const float *a,
                                                       long a_row, long a_depth, const float *b, long ldb,
                                                       int accumulate, float *c, long ldc, const int vectors) {
    float sums[TILE_ROWS][MAX_VECTORS * LANES];
    const float *row[TILE_ROWS];
    for (int r = 0; r < TILE_ROWS; r++) {
        row[r] = a + (r < rows ? r : rows - 1) * a_row;
        for (int x = 0; x < vectors * LANES; x++) sums[r][x] = 0.0f;
    }
    for (long k = 0; k < depth; k++) {
        const float *bk = b + k * ldb;
        for (int r = 0; r < TILE_ROWS; r++) {
            float value = row[r][k * a_depth];
            for (int x = 0; x < vectors * LANES; x++) sums[r][x] += value * bk[x];
        }
    }
    if (rows == TILE_ROWS && cols == vectors * LANES) {
        /* A whole tile: fixed bounds, so the sums go out as whole vectors. */
        for (int r = 0; r < TILE_ROWS; r++) {
            float *cr = c + r * ldc;
            if (accumulate)
                for (int x = 0; x < vectors * LANES; x++) cr[x] += alpha * sums[r][x];
            else
                for (int x = 0; x < vectors * LANES; x++) cr[x] = alpha * sums[r][x];
        }
        return;
    }
    for (long r = 0; r < rows; r++) {
        float *cr = c + r * ldc;
        if (accumulate)
            for (long x = 0; x < cols; x++) cr[x] += alpha * sums[r][x];
        else
            for (long x = 0; x < cols; x++) cr[x] = alpha * sums[r][x];
    }
}


#ifdef HAVE_AVX512_PATH
/* The same tile with AVX-512 intrinsics: the 24 sums stay in registers from the first product to
   the store, and a partial last vector of columns is stored under a mask. */
static inline __attribute__((always_inline, target("avx512f"))) void tile512(long rows, long depth, float alpha, const float *a,
                                                                               long a_row, long a_depth, const float *b, long ldb,
                                                                               int accumulate, float *c, long ldc, __mmask16 last,
                                                                               const int vectors) {
    __m512 sums[TILE_ROWS][MAX_VECTORS];
    const float *row[TILE_ROWS];
    for (int r = 0; r < TILE_ROWS; r++) {
        row[r] = a + (r < rows ? r : rows - 1) * a_row;
        for (int v = 0; v < vectors; v++) sums[r][v] = _mm512_setzero_ps();
    }
    for (long k = 0; k < depth; k++) {
        const float *bk = b + k * ldb;
        __m512 bv[MAX_VECTORS];
        for (int v = 0; v < vectors; v++) bv[v] = _mm512_loadu_ps(bk + v * LANES);
        long offset = k * a_depth;
        for (int r = 0; r < TILE_ROWS; r++) {
            __m512 value = _mm512_set1_ps(row[r][offset]);
            for (int v = 0; v < vectors; v++) sums[r][v] = _mm512_fmadd_ps(value, bv[v], sums[r][v]);
        }
    }
    __m512 scale = _mm512_set1_ps(alpha);
    for (int r = 0; r < TILE_ROWS; r++) {
        if (r >= rows) break;
        float *cr = c + r * ldc;
        for (int v = 0; v < vectors; v++) {
            __mmask16 mask = v == vectors - 1 ? last : (__mmask16)0xFFFF;
            __m512 x = _mm512_mul_ps(scale, sums[r][v]);
            if (accumulate) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask, cr + v * LANES));
            _mm512_mask_storeu_ps(cr + v * LANES, mask, x);
        }
    }
}

__attribute__((target("avx512f"))) static void product512(long m, long n, long depth, float alpha, const float *a, long a_row,
                                                          long a_depth, const float *b, long ldb, int accumulate, float *c, long ldc) {
    long block = row_block(m, depth);
    for (long top = 0; top < m; top += block) {
        long bottom = m - top < block ? m : top + block;
        for (long c0 = 0; c0 < n; c0 += MAX_VECTORS * LANES) {
            long cols = n - c0 < MAX_VECTORS * LANES ? n - c0 : MAX_VECTORS * LANES;
            int vectors = (int)((cols + LANES - 1) / LANES);
            long tail = cols - (vectors - 1) * LANES;
            __mmask16 last = (__mmask16)(tail == LANES ? 0xFFFF : (1u << tail) - 1);
            for (long r0 = top; r0 < bottom; r0 += TILE_ROWS) {
                long rows = bottom - r0 < TILE_ROWS ? bottom - r0 : TILE_ROWS;
                const float *ap = a + r0 * a_row;
                float *cp = c + r0 * ldc + c0;
                switch (vectors) {
                case 3: tile512(rows, depth, alpha, ap, a_row, a_depth, b + c0, ldb, accumulate, cp, ldc, last, 3); break;
                case 2: tile512(rows, depth, alpha, ap, a_row, a_depth, b + c0, ldb, accumulate, cp, ldc, last, 2); break;
                default: tile512(rows, depth, alpha, ap, a_row, a_depth, b + c0, ldb, accumulate, cp, ldc, last, 1); break;
                }
            }
        }
    }
}
#endif

MULTIVERSION
void gk_packed_product_portable(long m, long n, long depth, float alpha, const float *a, long a_row, long a_depth,
                                const float *b, long ldb, int accumulate, float *c, long ldc) {
    long block = row_block(m, depth);
    for (long top = 0; top < m; top += block) {
        long bottom = m - top < block ? m : top + block;
        for (long c0 = 0; c0 < n; c0 += MAX_VECTORS * LANES) {
            long cols = n - c0 < MAX_VECTORS * LANES ? n - c0 : MAX_VECTORS * LANES;
            int vectors = (int)((cols + LANES - 1) / LANES);
            for (long r0 = top; r0 < bottom; r0 += TILE_ROWS) {
                long rows = bottom - r0 < TILE_ROWS ? bottom - r0 : TILE_ROWS;
                const float *ap = a + r0 * a_row;
                float *cp = c + r0 * ldc + c0;
                switch (vectors) {
                case 3: tile(rows, cols, depth, alpha, ap, a_row, a_depth, b + c0, ldb, accumulate, cp, ldc, 3); break;
                case 2: tile(rows, cols, depth, alpha, ap, a_row, a_depth, b + c0, ldb, accumulate, cp, ldc, 2); break;
                default: tile(rows, cols, depth, alpha, ap, a_row, a_depth, b + c0, ldb, accumulate, cp, ldc, 1); break;
                }
            }
        }
    }
}

void gk_packed_product(long m, long n, long depth, float alpha, const float *a, long a_row, long a_depth,
                       const float *b, long ldb, int accumulate, float *c, long ldc) {
#ifdef HAVE_AVX512_PATH
    if (__builtin_cpu_supports("avx512f")) return product512(m, n, depth, alpha, a, a_row, a_depth, b, ldb, accumulate, c, ldc);
#endif
    gk_packed_product_portable(m, n, depth, alpha, a, a_row, a_depth, b, ldb, accumulate, c, ldc);
}

void gk_pack(const float *src, long ld, long rows, long cols, int transpose, float *dst, long ldd) {
    if (transpose) {
        for (long j = 0; j < cols; j++) {
            float *d = dst + j * ldd;
            for (long i = 0; i < rows; i++) d[i] = src[i * ld + j];
            for (long i = rows; i < ldd; i++) d[i] = 0.0f;
        }
    } else {
        for (long i = 0; i < rows; i++) {
            float *d = dst + i * ldd;
            const float *s = src + i * ld;
            for (long j = 0; j < cols; j++) d[j] = s[j];
            for (long j = cols; j < ldd; j++) d[j] = 0.0f;
        }
    }
}

void gk_add_transposed(const float *src, long lds, long rows, long cols, float *dst, long ldd) {
    for (long j = 0; j < cols; j++) {
        float *d = dst + j * ldd;
        for (long i = 0; i < rows; i++) d[i] += src[i * lds + j];
    }
}
