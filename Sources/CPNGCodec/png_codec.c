#include "png_codec.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Larger images are refused: nothing gradti reads needs them, and a corrupt header must not make it
   allocate gigabytes. */
#define MAX_SIDE 16384
/* Ancillary chunks (text, ICC profiles) are kilobytes; IDAT is streamed and not bounded by this. */
#define MAX_CHUNK_BYTES (16u << 20)

typedef struct {
    const unsigned char *data;
    size_t size;
    size_t offset;
} reader_state;

typedef struct {
    unsigned char *data;
    size_t size;
    size_t capacity;
    int failed;
} writer_state;

static void on_error(png_structp png, png_const_charp message) {
    char *error = (char *)png_get_error_ptr(png);
    snprintf(error, 256, "%s", message);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message; /* warnings (such as a bad sRGB profile) do not stop decoding */
}

static void read_bytes(png_structp png, png_bytep out, png_size_t count) {
    reader_state *state = (reader_state *)png_get_io_ptr(png);
    if (state->size - state->offset < count) png_error(png, "the PNG data ends early (truncated file)");
    memcpy(out, state->data + state->offset, count);
    state->offset += count;
}

/* The whole file is in memory, so no chunk can be longer than what follows its header. libpng
   allocates a chunk's declared length before reading it (found by fuzzing: a 49-byte file whose
   text chunk declared 2 GiB); checking every length first bounds any allocation by the file. */
static int check_chunk_lengths(const unsigned char *data, size_t size, char *error, size_t error_size) {
    size_t offset = 8;
    while (size - offset >= 8) {
        size_t length = ((size_t)data[offset] << 24) | ((size_t)data[offset + 1] << 16) |
                        ((size_t)data[offset + 2] << 8) | (size_t)data[offset + 3];
        size_t rest = size - offset - 8;
        if (length > rest || rest - length < 4) {
            snprintf(error, error_size, "a %.4s chunk declares %zu bytes but the file has %zu left (truncated or corrupt file)",
                     (const char *)data + offset + 4, length, rest < 4 ? 0 : rest - 4);
            return 1;
        }
        if (memcmp(data + offset + 4, "IEND", 4) == 0) return 0;
        offset += 12 + length;
    }
    return 0; /* A missing IEND is libpng's to report. */
}

int png_codec_decode(const unsigned char *data, size_t size, png_codec_image *out) {
    memset(out, 0, sizeof(*out));
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
        snprintf(out->error, sizeof(out->error), "not a PNG file (no PNG signature)");
        return 1;
    }
    if (check_chunk_lengths(data, size, out->error, sizeof(out->error))) return 1;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, out->error, on_error, on_warning);
    if (!png) {
        snprintf(out->error, sizeof(out->error), "libpng could not start");
        return 1;
    }
    png_infop info = png_create_info_struct(png);
    /* volatile: modified between setjmp and a possible longjmp. */
    unsigned char *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (!info || setjmp(png_jmpbuf(png))) {
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, info ? &info : NULL, NULL);
        if (out->error[0] == 0) snprintf(out->error, sizeof(out->error), "corrupt PNG data");
        return 1;
    }
    reader_state state = {data, size, 0};
    png_set_read_fn(png, &state, read_bytes);
    png_set_user_limits(png, MAX_SIDE, MAX_SIDE);
    /* Bounds what compressed text and ICC profile chunks may inflate to. */
    png_set_chunk_malloc_max(png, MAX_CHUNK_BYTES);
    png_read_info(png, info);

    png_uint_32 width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    int color = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);
    out->had_alpha = (color & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS);

    /* Everything to 8-bit RGBA. */
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (depth == 16) png_set_scale_16(png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    if (!(color & PNG_COLOR_MASK_ALPHA)) png_set_add_alpha(png, 0xFF, PNG_FILLER_AFTER);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)width * 4) png_error(png, "unexpected PNG row layout");

    pixels = malloc((size_t)width * height * 4);
    rows = malloc(sizeof(png_bytep) * height);
    if (!pixels || !rows) png_error(png, "out of memory for the image");
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + (size_t)y * width * 4;
    png_read_image(png, rows);
    png_read_end(png, NULL);

    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    out->width = (int)width;
    out->height = (int)height;
    out->rgba = pixels;
    return 0;
}

static void write_bytes(png_structp png, png_bytep data, png_size_t count) {
    writer_state *state = (writer_state *)png_get_io_ptr(png);
    if (state->size + count > state->capacity) {
        size_t capacity = state->capacity ? state->capacity * 2 : 4096;
        while (capacity < state->size + count) capacity *= 2;
        unsigned char *grown = realloc(state->data, capacity);
        if (!grown) png_error(png, "out of memory for the PNG data");
        state->data = grown;
        state->capacity = capacity;
    }
    memcpy(state->data + state->size, data, count);
    state->size += count;
}

static void flush_bytes(png_structp png) { (void)png; }

int png_codec_encode_rgb(const unsigned char *rgb, int width, int height, unsigned char **out, size_t *out_size,
                         char error[256]) {
    error[0] = 0;
    *out = NULL;
    *out_size = 0;
    if (width <= 0 || height <= 0 || width > MAX_SIDE || height > MAX_SIDE) {
        snprintf(error, 256, "cannot write a %dx%d image", width, height);
        return 1;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, error, on_error, on_warning);
    if (!png) {
        snprintf(error, 256, "libpng could not start");
        return 1;
    }
    png_infop info = png_create_info_struct(png);
    writer_state state = {NULL, 0, 0, 0};
    png_bytep *volatile rows = NULL;
    if (!info || setjmp(png_jmpbuf(png))) {
        free(rows);
        free(state.data);
        png_destroy_write_struct(&png, info ? &info : NULL);
        if (error[0] == 0) snprintf(error, 256, "PNG encoding failed");
        return 1;
    }
    png_set_write_fn(png, &state, write_bytes, flush_bytes);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    rows = malloc(sizeof(png_bytep) * (size_t)height);
    if (!rows) png_error(png, "out of memory");
    for (int y = 0; y < height; y++) rows[y] = (png_bytep)(rgb + (size_t)y * width * 3);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    free(rows);
    png_destroy_write_struct(&png, &info);
    *out = state.data;
    *out_size = state.size;
    return 0;
}

void png_codec_free(void *pointer) { free(pointer); }
