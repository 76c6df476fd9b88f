#ifndef GRADTI_PNG_CODEC_H
#define GRADTI_PNG_CODEC_H

#include <stddef.h>

/* libpng reports errors with longjmp, which Swift cannot catch; these wrappers catch them in C and
   return an error message instead. Pixels are 8-bit RGBA, rows top to bottom. */

typedef struct {
    int width;
    int height;
    unsigned char *rgba;        /* width * height * 4 bytes, free with png_codec_free */
    int had_alpha;              /* the file had an alpha channel or transparency */
    char error[256];
} png_codec_image;

/* Decodes PNG bytes (gray, RGB, RGBA, palette, 1 to 16 bits) to 8-bit RGBA. Returns 0 on success. */
int png_codec_decode(const unsigned char *data, size_t size, png_codec_image *out);

/* Encodes 8-bit RGB pixels to PNG bytes in *out (free with png_codec_free). Returns 0 on success. */
int png_codec_encode_rgb(const unsigned char *rgb, int width, int height, unsigned char **out, size_t *out_size,
                         char error[256]);

void png_codec_free(void *pointer);

#endif
