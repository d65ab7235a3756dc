/* cursor.c - encoding list cursors (see cursor.h); strict decoding, so junk is a 400, not a scan.
 */
#include <string.h>

#include "cursor.h"
#include "token.h"

void api_cursor_encode(int64_t id, char out[API_CURSOR_MAX])
{
    unsigned char raw[8];
    uint64_t v = (uint64_t)id;

    for (int i = 7; i >= 0; i--) {
        raw[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
    out[0] = 'c';
    out[1] = '1';
    api_base64url_encode(raw, sizeof raw, out + 2);
}

int api_cursor_decode(const char *s, size_t len, int64_t *id)
{
    unsigned char raw[8];
    uint64_t v = 0;
    int ret = -1;

    if (len != 13 || s[0] != 'c' || s[1] != '1')
        goto out;
    if (api_base64url_decode(s + 2, len - 2, raw, sizeof raw) != 8)
        goto out;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | raw[i];
    if (v == 0 || v > (uint64_t)INT64_MAX)
        goto out;
    *id = (int64_t)v;
    ret = 0;
out:
    return ret;
}
